"""DataLoaders of the promotion center, one per request (see ``RequestContext.loader``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.promotion import repository
from centers.promotion.dto import PromotionActivityInfo
from kernel.context import RequestContext
from kernel.graphql.batching import one_per_key


def activities(context: RequestContext) -> DataLoader[uuid.UUID, PromotionActivityInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[PromotionActivityInfo | None]:
        rows = await repository.activities_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, rows, lambda row: row.id)

    return context.loader("promotion.activities", lambda: DataLoader(load_fn=load))
