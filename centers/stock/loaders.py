"""DataLoaders of the stock center, one per request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.product import api as product_api
from centers.stock import repository
from centers.stock.dto import LevelInfo, LocationInfo
from centers.store import api as store_api
from kernel.context import RequestContext
from kernel.graphql.batching import many_per_key, one_per_key

LevelKey = tuple[uuid.UUID, uuid.UUID]


def levels(context: RequestContext) -> DataLoader[LevelKey, LevelInfo | None]:
    """Level by (store_id, sku_id): the stored row (``None``: never stocked there)."""

    async def load(keys: Sequence[LevelKey]) -> list[LevelInfo | None]:
        rows = await repository.levels_by_keys(context.session, context.tenant_id, keys)
        return one_per_key(keys, rows, lambda row: (row.store_id, row.sku_id))

    return context.loader("stock.levels", lambda: DataLoader(load_fn=load))


def known_locations(context: RequestContext) -> DataLoader[uuid.UUID, bool]:
    """Is the id one of the tenant's stock locations: a registered warehouse or store, or
    a store of the store center (a store holds stock without registering, decision 0030)?"""

    async def load(ids: Sequence[uuid.UUID]) -> list[bool]:
        session, tenant_id = context.session, context.tenant_id
        found = {row.id for row in await repository.locations_by_ids(session, tenant_id, ids)}
        rest = [i for i in ids if i not in found]
        found |= set(await store_api.get_stores(session, tenant_id, rest)) if rest else set()
        return [i in found for i in ids]

    return context.loader("stock.known_locations", lambda: DataLoader(load_fn=load))


def known_skus(context: RequestContext) -> DataLoader[uuid.UUID, bool]:
    """Is the id one of the tenant's SKUs (the product center's)?"""

    async def load(ids: Sequence[uuid.UUID]) -> list[bool]:
        found = await product_api.get_skus(context.session, context.tenant_id, ids)
        return [i in found for i in ids]

    return context.loader("stock.known_skus", lambda: DataLoader(load_fn=load))


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
