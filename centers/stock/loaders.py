"""DataLoaders of the stock center, one per request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.stock import repository
from centers.stock.dto import LevelInfo, LocationInfo
from kernel.context import RequestContext
from kernel.graphql.batching import many_per_key, one_per_key

LevelKey = tuple[uuid.UUID, uuid.UUID]


def levels(context: RequestContext) -> DataLoader[LevelKey, LevelInfo]:
    """Level by (store_id, sku_id); a pair never stocked reads as zero."""

    async def load(keys: Sequence[LevelKey]) -> list[LevelInfo]:
        rows = await repository.levels_by_keys(context.session, context.tenant_id, keys)
        found = one_per_key(keys, rows, lambda row: (row.store_id, row.sku_id))
        return [
            level or LevelInfo(k[0], k[1], 0, 0, None) for k, level in zip(keys, found, strict=True)
        ]

    return context.loader("stock.levels", lambda: DataLoader(load_fn=load))


def levels_of_sku(context: RequestContext) -> DataLoader[uuid.UUID, list[LevelInfo]]:
    async def load(sku_ids: Sequence[uuid.UUID]) -> list[list[LevelInfo]]:
        rows = await repository.levels_by_skus(context.session, context.tenant_id, sku_ids)
        return many_per_key(sku_ids, rows, lambda row: row.sku_id)

    return context.loader("stock.levels_of_sku", lambda: DataLoader(load_fn=load))


def locations(context: RequestContext) -> DataLoader[uuid.UUID, LocationInfo | None]:
    """Registered location by id (``None`` for a store never registered)."""

    async def load(ids: Sequence[uuid.UUID]) -> list[LocationInfo | None]:
        rows = await repository.locations_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, rows, lambda row: row.id)

    return context.loader("stock.locations", lambda: DataLoader(load_fn=load))
