"""DataLoaders of the store center, one per request (see ``RequestContext.loader``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.store import repository
from centers.store.dto import StoreInfo, TenantInfo
from kernel.context import RequestContext
from kernel.graphql.batching import one_per_key


def stores(context: RequestContext) -> DataLoader[uuid.UUID, StoreInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[StoreInfo | None]:
        rows = await repository.stores_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, rows, lambda row: row.id)

    return context.loader("store.stores", lambda: DataLoader(load_fn=load))


def own_tenant(context: RequestContext) -> DataLoader[uuid.UUID, TenantInfo | None]:
    """The caller's own tenant (the only one a request may see), read once per request
    however many references to it a batch holds."""

    async def load(ids: Sequence[uuid.UUID]) -> list[TenantInfo | None]:
        found = await repository.tenant_by_id(context.session, context.tenant_id)
        return [found if tenant_id == context.tenant_id else None for tenant_id in ids]

    return context.loader("store.own_tenant", lambda: DataLoader(load_fn=load))
