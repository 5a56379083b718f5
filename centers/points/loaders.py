"""DataLoaders of the points center, one per request (see ``RequestContext.loader``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.member import api as member_api
from centers.points import repository
from centers.points.dto import PointsEntryInfo
from kernel.context import RequestContext
from kernel.graphql.batching import many_per_key, one_per_key


def balances(context: RequestContext) -> DataLoader[uuid.UUID, int]:
    """Balance by member id; a member who never had points has 0."""

    async def load(member_ids: Sequence[uuid.UUID]) -> list[int]:
        found = await repository.balances(context.session, context.tenant_id, member_ids)
        return [found.get(i, 0) for i in member_ids]

    return context.loader("points.balances", lambda: DataLoader(load_fn=load))


def known_members(context: RequestContext) -> DataLoader[uuid.UUID, bool]:
    """Is the id one of the tenant's members (the member center's)?"""

    async def load(ids: Sequence[uuid.UUID]) -> list[bool]:
        found = await member_api.get_members(context.session, context.tenant_id, ids)
        return [i in found for i in ids]

    return context.loader("points.known_members", lambda: DataLoader(load_fn=load))


def own_member(context: RequestContext) -> DataLoader[str, uuid.UUID | None]:
    """The member an app account (the caller's subject id) belongs to, if any."""

    async def load(accounts: Sequence[str]) -> list[uuid.UUID | None]:
        found = [
            await member_api.member_by_identity(
                context.session, context.tenant_id, member_api.IdentityKind.APP, account
            )
            for account in accounts
        ]
        return [member.id if member else None for member in found]

    return context.loader("points.own_member", lambda: DataLoader(load_fn=load))


def entries(context: RequestContext) -> DataLoader[uuid.UUID, PointsEntryInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[PointsEntryInfo | None]:
        rows = await repository.entries_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, rows, lambda row: row.id)

    return context.loader("points.entries", lambda: DataLoader(load_fn=load))


def entries_of_members(
    context: RequestContext, limit: int, after: uuid.UUID | None
) -> DataLoader[uuid.UUID, list[PointsEntryInfo]]:
    """A page of each member's ledger; one loader per page shape, so a list of members
    asking for the same page is one query."""

    async def load(member_ids: Sequence[uuid.UUID]) -> list[list[PointsEntryInfo]]:
        rows = await repository.entries_of_members(
            context.session, context.tenant_id, member_ids, limit=limit, after=after
        )
        return many_per_key(member_ids, rows, lambda row: row.member_id)

    return context.loader(
        ("points.entries_of_members", limit, after), lambda: DataLoader(load_fn=load)
    )
