"""DataLoaders of the store center, one per request (see ``RequestContext.loader``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.store import repository
from centers.store.dto import StoreInfo
from kernel.context import RequestContext


def stores(context: RequestContext) -> DataLoader[uuid.UUID, StoreInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[StoreInfo | None]:
        found = {
            s.id: s for s in await repository.stores_by_ids(context.session, context.tenant_id, ids)
        }
        return [found.get(i) for i in ids]

    return context.loader("store.stores", lambda: DataLoader(load_fn=load))
