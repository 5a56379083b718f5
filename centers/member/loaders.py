"""DataLoaders of the member center, one per request (see ``RequestContext.loader``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.member import repository
from centers.member.dto import MemberInfo
from kernel.context import RequestContext
from kernel.graphql.batching import one_per_key


def members(context: RequestContext) -> DataLoader[uuid.UUID, MemberInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[MemberInfo | None]:
        rows = await repository.members_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, rows, lambda row: row.id)

    return context.loader("member.members", lambda: DataLoader(load_fn=load))
