"""Membership levels (会员等级) with their benefits, and member prices (会员价)."""

from __future__ import annotations

import strawberry
from strawberry import Info

from centers.member import policy, profile, repository
from centers.member.dto import LevelRuleInfo
from kernel.context import RequestContext
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.types import UserError

Ctx = Info[RequestContext, None]


@strawberry.type(description="A membership level, reached by growth value, with its benefits.")
class MemberLevel:
    id: strawberry.ID
    level: int
    name: str
    growth_threshold: int = strawberry.field(description="Growth value needed to reach it.")
    discount_basis_points: int = strawberry.field(
        description="Member discount in basis points off; 200 = 9.8折."
    )
    combine: str = strawberry.field(
        description="How the benefit meets promotions: STACK (on top of them) or "
        "UNDISCOUNTED_ONLY (only on lines no promotion discounted)."
    )

    @classmethod
    def of(cls, value: LevelRuleInfo) -> MemberLevel:
        return cls(
            id=strawberry.ID(str(value.id)),
            level=value.level,
            name=value.name,
            growth_threshold=value.growth_threshold,
            discount_basis_points=value.discount_bp,
            combine=value.combine,
        )


@strawberry.input
class SetMemberLevelInput:
    level: int = strawberry.field(description="1 to 20.")
    name: str
    growth_threshold: int
    discount_basis_points: int = 0
    combine: str = "STACK"


@strawberry.type
class SetMemberLevelPayload:
    member_level: MemberLevel | None
    user_errors: list[UserError]


@strawberry.input
class SetMemberPriceInput:
    level: int
    sku_id: strawberry.ID
    price: int | None = strawberry.field(description="Per unit, minor units; null removes it.")


@strawberry.type
class LevelQuery:
    @query(policy.READ_LEVELS, description="The brand's membership levels, lowest first.")
    async def member_levels(self, info: Ctx) -> list[MemberLevel]:
        context = info.context
        return [
            MemberLevel.of(r)
            for r in await repository.level_rules(context.session, context.tenant_id)
        ]


@strawberry.type
class LevelMutation:
    @mutation(
        policy.MANAGE_LEVELS,
        description="Define or redefine a level and its benefits; members move to the level "
        "their growth reaches. Codes: INVALID_LEVEL, INVALID_NAME.",
    )
    async def set_member_level(
        self, info: Ctx, input: SetMemberLevelInput
    ) -> SetMemberLevelPayload:
        context = info.context
        saved, errors = await attempt(
            context,
            lambda: profile.set_level_rule(
                context.session,
                context.tenant_id,
                level=input.level,
                name=input.name,
                growth_threshold=input.growth_threshold,
                discount_bp=input.discount_basis_points,
                combine=input.combine,
            ),
        )
        return SetMemberLevelPayload(
            member_level=MemberLevel.of(saved) if saved else None, user_errors=errors
        )

    @mutation(
        policy.MANAGE_LEVELS,
        description="Set or remove a SKU's member price for a level. Codes: INVALID_ID, "
        "LEVEL_NOT_FOUND, INVALID_PRICE.",
    )
    async def set_member_price(
        self, info: Ctx, input: SetMemberPriceInput
    ) -> SetMemberLevelPayload:
        context = info.context

        async def run() -> LevelRuleInfo:
            return await profile.set_member_price(
                context.session,
                context.tenant_id,
                level=input.level,
                sku_id=parse_id(input.sku_id, ["input", "skuId"]),
                price=input.price,
            )

        saved, errors = await attempt(context, run)
        return SetMemberLevelPayload(
            member_level=MemberLevel.of(saved) if saved else None, user_errors=errors
        )
