"""Coupons: templates, issued coupons, and their admin mutations."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry import Info

from centers.member import api as member_api
from centers.promotion import coupons, loaders, policy, repository
from centers.promotion.dto import CouponInfo, CouponKind, CouponTemplateInfo, PromotionScope
from centers.promotion.graphql.activities import PromotionScopeInput, PromotionScopeType
from kernel.context import RequestContext
from kernel.errors import UserInputError
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.types import UserError

Ctx = Info[RequestContext, None]

strawberry.enum(
    CouponKind,
    description="AMOUNT_OFF: an amount off above a minimum spend (满减券); "
    "PERCENT_OFF: basis points off, optionally capped (折扣券).",
)


@strawberry.federation.type(keys=["id"], description="A kind of coupon (优惠券模板).")
class CouponTemplate:
    id: strawberry.ID
    name: str
    kind: CouponKind
    amount_off: int
    discount_basis_points: int
    max_discount: int | None
    min_spend: int
    scope: PromotionScopeType
    stacks_with_promotions: bool = strawberry.field(
        description="False: only lines no promotion activity discounted count."
    )
    starts_at: datetime
    ends_at: datetime
    shared_code: str | None = strawberry.field(
        description="A code anyone may type; null when coupons are issued one by one."
    )
    total_quantity: int | None
    issued: int
    redeemed: int = strawberry.field(description="Orders that used the shared code.")
    per_member_limit: int | None
    created_at: datetime

    @classmethod
    def of(cls, value: CouponTemplateInfo) -> CouponTemplate:
        return cls(
            id=strawberry.ID(str(value.id)),
            name=value.name,
            kind=value.kind,
            amount_off=value.amount_off,
            discount_basis_points=value.discount_bp,
            max_discount=value.max_discount,
            min_spend=value.min_spend,
            scope=PromotionScopeType.of(value.scope),
            stacks_with_promotions=value.stacks_with_promotions,
            starts_at=value.starts_at,
            ends_at=value.ends_at,
            shared_code=value.shared_code,
            total_quantity=value.total_quantity,
            issued=value.issued,
            redeemed=value.redeemed,
            per_member_limit=value.per_member_limit,
            created_at=value.created_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> CouponTemplate | None:
        template_id = try_parse_id(id)
        found = (
            await loaders.coupon_templates(info.context).load(template_id) if template_id else None
        )
        return cls.of(found) if found else None


@strawberry.type(description="A coupon issued to a member (券); used by at most one order.")
class Coupon:
    id: strawberry.ID
    code: str = strawberry.field(description="What the member shows or types at checkout.")
    status: str = strawberry.field(description="AVAILABLE or USED.")
    member_id: strawberry.ID
    order_id: strawberry.ID | None
    issued_at: datetime
    used_at: datetime | None
    template_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, value: CouponInfo) -> Coupon:
        return cls(
            id=strawberry.ID(str(value.id)),
            code=value.code,
            status=value.status,
            member_id=strawberry.ID(str(value.member_id)),
            order_id=strawberry.ID(str(value.order_id)) if value.order_id else None,
            issued_at=value.issued_at,
            used_at=value.used_at,
            template_id=value.template_id,
        )

    @strawberry.field
    async def template(self, info: Ctx) -> CouponTemplate | None:
        found = await loaders.coupon_templates(info.context).load(self.template_id)
        return CouponTemplate.of(found) if found else None


@strawberry.input
class CreateCouponTemplateInput:
    name: str
    kind: CouponKind
    starts_at: datetime = strawberry.field(description="With a time zone offset.")
    ends_at: datetime = strawberry.field(description="With a time zone offset.")
    amount_off: int = strawberry.field(default=0, description="AMOUNT_OFF: minor units.")
    discount_basis_points: int = strawberry.field(
        default=0, description="PERCENT_OFF: 1-9999 basis points off."
    )
    max_discount: int | None = strawberry.field(default=None, description="PERCENT_OFF cap.")
    min_spend: int = strawberry.field(
        default=0, description="Goods in scope must cost at least this (门槛)."
    )
    scope: PromotionScopeInput | None = None
    stacks_with_promotions: bool = True
    shared_code: str | None = strawberry.field(
        default=None, description="4-32 letters and digits anyone may type; null to issue."
    )
    total_quantity: int | None = strawberry.field(
        default=None, description="Coupons issued, or shared-code redemptions, at most."
    )
    per_member_limit: int | None = None


@strawberry.type
class CreateCouponTemplatePayload:
    coupon_template: CouponTemplate | None
    user_errors: list[UserError]


@strawberry.input
class IssueCouponInput:
    idempotency_key: str = strawberry.field(
        description="Unique per coupon issued; a replay returns the first coupon."
    )
    template_id: strawberry.ID
    member_id: strawberry.ID


@strawberry.type
class IssueCouponPayload:
    coupon: Coupon | None
    user_errors: list[UserError]


@strawberry.type
class CouponQuery:
    @query(policy.READ_COUPON, description="The brand's coupon templates, newest first.")
    async def coupon_templates(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[CouponTemplate]:
        context = info.context
        page = page_request(first, after)
        rows = await repository.list_templates(context.session, context.tenant_id, page)
        return connection(
            [coupons.template_info(r) for r in rows], page, CouponTemplate.of, lambda t: [t.id]
        )

    @query(policy.READ_COUPON, description="A member's coupons, newest first.")
    async def member_coupons(
        self, info: Ctx, member_id: strawberry.ID, first: int = 20, after: str | None = None
    ) -> Connection[Coupon]:
        context = info.context
        page = page_request(first, after)
        member = try_parse_id(member_id)
        rows = (
            await repository.coupons_of_member(context.session, context.tenant_id, member, page)
            if member
            else []
        )
        return connection([coupons.coupon_info(r) for r in rows], page, Coupon.of, lambda c: [c.id])


@strawberry.type
class CouponMutation:
    @mutation(
        policy.MANAGE_COUPON,
        description="Define a kind of coupon. Codes: INVALID_NAME, INVALID_WINDOW, "
        "INVALID_COUPON, INVALID_RULES, INVALID_ID, CODE_TAKEN.",
    )
    async def create_coupon_template(
        self, info: Ctx, input: CreateCouponTemplateInput
    ) -> CreateCouponTemplatePayload:
        context = info.context

        async def run() -> CouponTemplateInfo:
            scope = input.scope.to_domain(["input", "scope"]) if input.scope else PromotionScope()
            return await coupons.create_template(
                context.session,
                context.tenant_id,
                name=input.name,
                kind=input.kind,
                amount_off=input.amount_off,
                discount_bp=input.discount_basis_points,
                max_discount=input.max_discount,
                min_spend=input.min_spend,
                scope=scope,
                stacks_with_promotions=input.stacks_with_promotions,
                starts_at=input.starts_at,
                ends_at=input.ends_at,
                shared_code=input.shared_code,
                total_quantity=input.total_quantity,
                per_member_limit=input.per_member_limit,
            )

        created, errors = await attempt(context, run)
        return CreateCouponTemplatePayload(
            coupon_template=CouponTemplate.of(created) if created else None, user_errors=errors
        )

    @mutation(
        policy.ISSUE_COUPON,
        description="Issue one coupon of a template to a member (发券/领券); idempotent by "
        "idempotencyKey. Codes: INVALID_ID, TEMPLATE_NOT_FOUND, SHARED_CODE_TEMPLATE, "
        "COUPON_EXPIRED, MEMBER_NOT_FOUND, COUPON_LIMIT_REACHED, COUPON_EXHAUSTED, "
        "INVALID_IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_REUSED.",
    )
    async def issue_coupon(self, info: Ctx, input: IssueCouponInput) -> IssueCouponPayload:
        context = info.context

        async def run() -> CouponInfo:
            return await coupons.issue_coupon(
                context.session,
                context.tenant_id,
                idempotency_key=input.idempotency_key,
                template_id=parse_id(input.template_id, ["input", "templateId"]),
                member_id=parse_id(input.member_id, ["input", "memberId"]),
            )

        issued, errors = await attempt(context, run)
        return IssueCouponPayload(coupon=Coupon.of(issued) if issued else None, user_errors=errors)


@strawberry.input
class ClaimCouponInput:
    idempotency_key: str = strawberry.field(
        description="Unique per claim (e.g. the tap's id); a replay returns the first coupon."
    )
    template_id: strawberry.ID


async def _own_member(context: RequestContext) -> uuid.UUID:
    own = await member_api.member_by_identity(
        context.session,
        context.tenant_id,
        member_api.IdentityKind.APP,
        context.principal.subject_id,
    )
    if own is None:
        raise UserInputError(
            "join the membership first: coupons are claimed by members",
            code="MEMBER_REQUIRED",
            field=["input", "templateId"],
        )
    return own.id


@strawberry.type
class OwnCouponQuery:
    @query(policy.CLAIM_COUPON, description="The caller's own coupons, newest first.")
    async def my_coupons(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[Coupon]:
        context = info.context
        page = page_request(first, after)
        own = await member_api.member_by_identity(
            context.session,
            context.tenant_id,
            member_api.IdentityKind.APP,
            context.principal.subject_id,
        )
        rows = (
            await repository.coupons_of_member(context.session, context.tenant_id, own.id, page)
            if own
            else []
        )
        return connection([coupons.coupon_info(r) for r in rows], page, Coupon.of, lambda c: [c.id])


@strawberry.type
class OwnCouponMutation:
    @mutation(
        policy.CLAIM_COUPON,
        description="Claim a coupon for the caller's own membership (领券); idempotent by "
        "idempotencyKey. Codes: INVALID_ID, MEMBER_REQUIRED, TEMPLATE_NOT_FOUND, "
        "SHARED_CODE_TEMPLATE, COUPON_EXPIRED, COUPON_LIMIT_REACHED, COUPON_EXHAUSTED, "
        "INVALID_IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_REUSED.",
    )
    async def claim_coupon(self, info: Ctx, input: ClaimCouponInput) -> IssueCouponPayload:
        context = info.context

        async def run() -> CouponInfo:
            return await coupons.issue_coupon(
                context.session,
                context.tenant_id,
                idempotency_key=input.idempotency_key,
                template_id=parse_id(input.template_id, ["input", "templateId"]),
                member_id=await _own_member(context),
            )

        issued, errors = await attempt(context, run)
        return IssueCouponPayload(coupon=Coupon.of(issued) if issued else None, user_errors=errors)
