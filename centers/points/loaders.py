"""DataLoaders of the points center, one per request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.points import repository
from kernel.context import RequestContext


def balances(context: RequestContext) -> DataLoader[uuid.UUID, int]:
    """Balance by member id; a member who never had points has 0."""

    async def load(member_ids: Sequence[uuid.UUID]) -> list[int]:
        found = await repository.balances(context.session, context.tenant_id, member_ids)
        return [found.get(i, 0) for i in member_ids]

    return context.loader("points.balances", lambda: DataLoader(load_fn=load))
