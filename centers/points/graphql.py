"""The points subgraph: balances on the member center's ``Member``, and the ledger."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry import Info

from centers.points import loaders, policy, repository, service
from centers.points.dto import PointsEntryInfo
from kernel.context import RequestContext
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.subgraph import Subgraph
from kernel.graphql.types import UserError

Ctx = Info[RequestContext, None]


@strawberry.type(description="A member's points (积分).")
class PointsAccount:
    member_id: strawberry.Private[uuid.UUID]
    balance: int

    @strawberry.field
    def member(self) -> Member:
        return Member(id=strawberry.ID(str(self.member_id)))


@strawberry.federation.type(keys=["id"])
class Member:
    id: strawberry.ID

    @strawberry.field
    async def points(self, info: Ctx) -> PointsAccount | None:
        member_id = try_parse_id(self.id)
        if member_id is None:
            return None
        balance = await loaders.balances(info.context).load(member_id)
        return PointsAccount(member_id=member_id, balance=balance)


@strawberry.type(description="One change to a member's points (积分流水).")
class PointsEntry:
    id: strawberry.ID
    delta: int
    balance_after: int
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, value: PointsEntryInfo) -> PointsEntry:
        return cls(
            id=strawberry.ID(str(value.id)),
            delta=value.delta,
            balance_after=value.balance_after,
            reason=value.reason,
            created_at=value.created_at,
        )


@strawberry.input
class AdjustPointsInput:
    idempotency_key: str
    member_id: strawberry.ID
    delta: int = strawberry.field(description="Points earned (+) or spent (−).")
    reason: str


@strawberry.type
class AdjustPointsPayload:
    entry: PointsEntry | None
    user_errors: list[UserError]


@strawberry.type
class Query:
    @query(policy.READ_POINTS, description="A member's points ledger, newest first.")
    async def points_entries(
        self, info: Ctx, member_id: strawberry.ID, first: int = 20, after: str | None = None
    ) -> Connection[PointsEntry]:
        context = info.context
        page = page_request(first, after)
        member = try_parse_id(member_id)
        rows = (
            await repository.list_entries(context.session, context.tenant_id, member, page)
            if member
            else []
        )
        return connection(rows, page, PointsEntry.of, lambda e: [e.id])


@strawberry.type
class Mutation:
    @mutation(
        policy.ADJUST_POINTS,
        description="Earn or spend points; the balance never goes below zero. Codes: "
        "INVALID_ID, INVALID_DELTA, INVALID_REASON, MEMBER_NOT_FOUND, INSUFFICIENT_POINTS, "
        "INVALID_IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_REUSED.",
    )
    async def adjust_points(self, info: Ctx, input: AdjustPointsInput) -> AdjustPointsPayload:
        context = info.context

        async def run() -> PointsEntryInfo:
            return await service.adjust_points(
                context.session,
                context.tenant_id,
                idempotency_key=input.idempotency_key,
                member_id=parse_id(input.member_id, ["input", "memberId"]),
                delta=input.delta,
                reason=input.reason,
            )

        entry, errors = await attempt(context, run)
        return AdjustPointsPayload(
            entry=PointsEntry.of(entry) if entry else None, user_errors=errors
        )


subgraph = Subgraph(
    name="points",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation, types=[PointsAccount]),
    entity_permissions={"Member": policy.READ_POINTS},
    grants=policy.GRANTS,
)
