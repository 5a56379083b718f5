"""The points subgraph: the ledger, and ``points`` on the member center's ``Member``."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry import Info

from centers.member import api as member_api
from centers.points import loaders, orders, policy, service
from centers.points.dto import PointsEntryInfo, PointsRules
from kernel.context import RequestContext
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.subgraph import Subgraph
from kernel.graphql.types import UserError

Ctx = Info[RequestContext, None]


async def own_member(context: RequestContext) -> uuid.UUID | None:
    """The caller's own member, found by their app account (once per request)."""
    return await loaders.own_member(context).load(context.principal.subject_id)


@strawberry.federation.type(keys=["id"])
class Member:
    id: strawberry.ID

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Member | None:
        """One of the tenant's members (``points.account:read``), or only the caller's
        own (``read_own``: ``myMembership { points }``); null for anything else."""
        member_id = try_parse_id(id)
        if member_id is None:
            return None
        context = info.context
        if context.allows(policy.POINTS_OWNERSHIP.any):
            known = await loaders.known_members(context).load(member_id)
        else:
            known = member_id == await own_member(context)
        return cls(id=id) if known else None

    @strawberry.field(description="The member's points (积分); zero for a member without any.")
    async def points(self, info: Ctx) -> PointsAccount:
        member_id = try_parse_id(self.id)
        balance = await loaders.balances(info.context).load(member_id) if member_id else 0
        return PointsAccount(member_id=member_id, balance=balance)


@strawberry.federation.type(keys=["id"], description="One change to a member's points (积分流水).")
class PointsEntry:
    id: strawberry.ID
    delta: int = strawberry.field(description="Points earned (+) or spent (−).")
    balance_after: int = strawberry.field(description="The balance this change left.")
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

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> PointsEntry | None:
        entry_id = try_parse_id(id)
        found = await loaders.entries(info.context).load(entry_id) if entry_id else None
        return cls.of(found) if found else None


@strawberry.type(description="A member's points (积分): the balance and the ledger behind it.")
class PointsAccount:
    member_id: strawberry.Private[uuid.UUID | None]
    balance: int = strawberry.field(description="Points available now; never negative.")

    @strawberry.field(description="The ledger, newest first; its deltas sum to the balance.")
    async def entries(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[PointsEntry]:
        page = page_request(first, after)
        loader = loaders.entries_of_members(info.context, page.limit, page.after_id())
        rows = await loader.load(self.member_id) if self.member_id else []
        return connection(rows, page, PointsEntry.of, lambda e: [e.id])


@strawberry.input
class AdjustPointsInput:
    idempotency_key: str = strawberry.field(
        description="Unique per adjustment, e.g. a receipt number; a replay returns the first."
    )
    member_id: strawberry.ID
    delta: int = strawberry.field(description="Points earned (+) or spent (−).")
    reason: str = strawberry.field(description="Why, shown in the ledger (1-200 characters).")


@strawberry.type
class AdjustPointsPayload:
    entry: PointsEntry | None
    user_errors: list[UserError]


@strawberry.type(name="PointsRules", description="The brand's points rules (积分规则).")
class PointsRulesType:
    earn_points: int = strawberry.field(description="Points earned…")
    earn_per_amount: int = strawberry.field(description="…per this many minor units paid.")
    redeem_unit_points: int = strawberry.field(description="Redeemed in multiples of this…")
    redeem_unit_value: int = strawberry.field(description="…each worth this (minor units).")
    redeem_max_basis_points: int = strawberry.field(
        description="At most this share of the payable; 0: no points as a discount."
    )
    expiry_days: int | None = strawberry.field(description="Null: points never expire.")

    @classmethod
    def of(cls, value: PointsRules) -> PointsRulesType:
        return cls(
            earn_points=value.earn_points,
            earn_per_amount=value.earn_per_amount,
            redeem_unit_points=value.redeem_unit_points,
            redeem_unit_value=value.redeem_unit_value,
            redeem_max_basis_points=value.redeem_max_bp,
            expiry_days=value.expiry_days,
        )


@strawberry.input
class SetPointsRulesInput:
    earn_points: int
    earn_per_amount: int
    redeem_unit_points: int
    redeem_unit_value: int
    redeem_max_basis_points: int
    expiry_days: int | None = None


@strawberry.type
class SetPointsRulesPayload:
    rules: PointsRulesType | None
    user_errors: list[UserError]


@strawberry.type
class Query:
    @query(
        policy.READ_OWN_POINTS,
        description="The caller's own points (by their app account); null when they have "
        "not joined the membership.",
    )
    async def my_points(self, info: Ctx) -> PointsAccount | None:
        context = info.context
        own = await own_member(context)
        if own is None:
            return None
        balance = await loaders.balances(context).load(own)
        return PointsAccount(member_id=own, balance=balance)

    @query(policy.READ_RULES, description="The brand's points rules; null until set.")
    async def points_rules(self, info: Ctx) -> PointsRulesType | None:
        context = info.context
        found = await orders.rules_of(context.session, context.tenant_id)
        return PointsRulesType.of(found) if found else None

    @query(
        policy.READ_POINTS,
        description="A member's points; null for unknown or other brands' member ids.",
    )
    async def points_account(self, info: Ctx, member_id: strawberry.ID) -> PointsAccount | None:
        context = info.context
        member = try_parse_id(member_id)
        if member is None or not await member_api.get_member(
            context.session, context.tenant_id, member
        ):
            return None
        balance = await loaders.balances(context).load(member)
        return PointsAccount(member_id=member, balance=balance)


@strawberry.type
class Mutation:
    @mutation(
        policy.MANAGE_RULES,
        description="Set the brand's earn, redeem and expiry rules. Codes: INVALID_RULE.",
    )
    async def set_points_rules(
        self, info: Ctx, input: SetPointsRulesInput
    ) -> SetPointsRulesPayload:
        context = info.context
        saved, errors = await attempt(
            context,
            lambda: orders.set_rules(
                context.session,
                context.tenant_id,
                PointsRules(
                    earn_points=input.earn_points,
                    earn_per_amount=input.earn_per_amount,
                    redeem_unit_points=input.redeem_unit_points,
                    redeem_unit_value=input.redeem_unit_value,
                    redeem_max_bp=input.redeem_max_basis_points,
                    expiry_days=input.expiry_days,
                ),
            ),
        )
        return SetPointsRulesPayload(
            rules=PointsRulesType.of(saved) if saved else None, user_errors=errors
        )

    @mutation(
        policy.ADJUST_POINTS,
        description="Earn or spend points; the balance never goes below zero. Codes: "
        "INVALID_ID, INVALID_DELTA, INVALID_REASON, MEMBER_NOT_FOUND, INSUFFICIENT_POINTS, "
        "BALANCE_LIMIT, INVALID_IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_REUSED.",
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
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation, types=[Member]),
    entity_permissions={
        "Member": policy.POINTS_OWNERSHIP.own,  # narrowed to the caller's own member
        "PointsEntry": policy.READ_POINTS,
    },
    grants=policy.GRANTS,
    store_permissions=policy.STORE_PERMISSIONS,
    job_handlers={orders.EXPIRY_JOB: orders.expiry_job},
)
