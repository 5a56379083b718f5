"""DataLoaders of the stock center, one per request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.stock import repository
from centers.stock.dto import LevelInfo
from kernel.context import RequestContext

LevelKey = tuple[uuid.UUID, uuid.UUID]


def levels(context: RequestContext) -> DataLoader[LevelKey, LevelInfo]:
    """Level by (store_id, sku_id); a pair never stocked reads as zero."""

    async def load(keys: Sequence[LevelKey]) -> list[LevelInfo]:
        found = {
            (f.store_id, f.sku_id): f
            for f in await repository.levels_by_keys(context.session, context.tenant_id, keys)
        }
        return [found.get(k) or LevelInfo(k[0], k[1], 0, 0) for k in keys]

    return context.loader("stock.levels", lambda: DataLoader(load_fn=load))


def levels_of_sku(context: RequestContext) -> DataLoader[uuid.UUID, list[LevelInfo]]:
    async def load(sku_ids: Sequence[uuid.UUID]) -> list[list[LevelInfo]]:
        grouped: dict[uuid.UUID, list[LevelInfo]] = {i: [] for i in sku_ids}
        for found in await repository.levels_by_skus(context.session, context.tenant_id, sku_ids):
            grouped[found.sku_id].append(found)
        return [grouped[i] for i in sku_ids]

    return context.loader("stock.levels_of_sku", lambda: DataLoader(load_fn=load))
