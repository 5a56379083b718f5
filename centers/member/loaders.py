"""DataLoaders of the member center, one per request (see ``RequestContext.loader``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.member import repository
from centers.member.dto import AddressInfo, MemberInfo
from kernel.context import RequestContext
from kernel.graphql.batching import one_per_key


def members(context: RequestContext) -> DataLoader[uuid.UUID, MemberInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[MemberInfo | None]:
        rows = await repository.members_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, rows, lambda row: row.id)

    return context.loader("member.members", lambda: DataLoader(load_fn=load))


def identities(context: RequestContext) -> DataLoader[uuid.UUID, list[tuple[str, str]]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[list[tuple[str, str]]]:
        found = await repository.identities_of(context.session, context.tenant_id, ids)
        return [found[i] for i in ids]

    return context.loader("member.identities", lambda: DataLoader(load_fn=load))


def addresses(context: RequestContext) -> DataLoader[uuid.UUID, list[AddressInfo]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[list[AddressInfo]]:
        found = await repository.addresses_of(context.session, context.tenant_id, ids)
        return [found[i] for i in ids]

    return context.loader("member.addresses", lambda: DataLoader(load_fn=load))


def tags(context: RequestContext) -> DataLoader[uuid.UUID, list[str]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[list[str]]:
        found = await repository.tags_of(context.session, context.tenant_id, ids)
        return [found[i] for i in ids]

    return context.loader("member.tags", lambda: DataLoader(load_fn=load))
