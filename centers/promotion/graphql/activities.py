"""Promotion activities: the entity, its rules, and the admin mutations."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry
from strawberry import Info

from centers.promotion import loaders, policy, repository, service
from centers.promotion.dto import (
    ActivityDetails,
    PromotionActivityInfo,
    PromotionKind,
    PromotionRules,
    PromotionScope,
    PromotionStatus,
    SpendTier,
)
from kernel.context import RequestContext
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.types import UserError

Ctx = Info[RequestContext, None]

# The domain enums are the schema's enums: one list of names, no mapping to drift.
strawberry.enum(
    PromotionKind,
    description="What an activity does to the goods: 满减 tiers, discount, fixed price, "
    "buy X get Y, bundle, flash sale (秒杀), group buy (拼团), presale deposit (预售定金).",
)
strawberry.enum(
    PromotionStatus,
    description="DRAFT until an operator activates it; ACTIVE applies inside its window; "
    "ENDED for good.",
)


@strawberry.type(
    name="PromotionScope", description="Where a rule applies; an empty list means any."
)
class PromotionScopeType:
    store_ids: list[strawberry.ID]
    channels: list[str]
    member_levels: list[int]
    sku_ids: list[strawberry.ID]
    product_ids: list[strawberry.ID]
    category_ids: list[strawberry.ID]

    @classmethod
    def of(cls, scope: PromotionScope) -> PromotionScopeType:
        def ids(values: tuple[uuid.UUID, ...]) -> list[strawberry.ID]:
            return [strawberry.ID(str(v)) for v in values]

        return cls(
            store_ids=ids(scope.store_ids),
            channels=list(scope.channels),
            member_levels=list(scope.member_levels),
            sku_ids=ids(scope.sku_ids),
            product_ids=ids(scope.product_ids),
            category_ids=ids(scope.category_ids),
        )


@strawberry.type(
    name="SpendTier", description="满减: spend at least threshold on goods in scope, save discount."
)
class SpendTierType:
    threshold: int
    discount: int


@strawberry.type(
    name="PromotionRules", description="What an activity gives, where, and how it stacks."
)
class PromotionRulesType:
    tiers: list[SpendTierType]
    discount_basis_points: int = strawberry.field(
        description="PERCENT_OFF: basis points off; 2000 = 20% off (8折)."
    )
    unit_price: int = strawberry.field(
        description="FIXED_PRICE, FLASH_SALE, PRESALE_DEPOSIT, GROUP_BUY: price per unit."
    )
    buy_quantity: int
    get_quantity: int
    bundle_sku_ids: list[strawberry.ID]
    bundle_price: int
    group_size: int = strawberry.field(description="GROUP_BUY: paid orders that make a group.")
    group_minutes: int = strawberry.field(
        description="GROUP_BUY: minutes a group has to fill once opened."
    )
    scope: PromotionScopeType
    priority: int = strawberry.field(description="Higher applies first.")
    exclusive: bool = strawberry.field(
        description="Applies only to lines no other activity discounted, and then alone."
    )
    stack_group: str | None = strawberry.field(
        description="Of activities sharing a group, only the first by priority applies."
    )
    budget: int | None = strawberry.field(description="Total discount it may give.")
    per_member_limit: int | None = strawberry.field(description="Orders per member.")

    @classmethod
    def of(cls, rules: PromotionRules) -> PromotionRulesType:
        return cls(
            tiers=[SpendTierType(threshold=t.threshold, discount=t.discount) for t in rules.tiers],
            discount_basis_points=rules.discount_bp,
            unit_price=rules.unit_price,
            buy_quantity=rules.buy_quantity,
            get_quantity=rules.get_quantity,
            bundle_sku_ids=[strawberry.ID(str(v)) for v in rules.bundle_sku_ids],
            bundle_price=rules.bundle_price,
            group_size=rules.group_size,
            group_minutes=rules.group_minutes,
            scope=PromotionScopeType.of(rules.scope),
            priority=rules.priority,
            exclusive=rules.exclusive,
            stack_group=rules.stack_group,
            budget=rules.budget,
            per_member_limit=rules.per_member_limit,
        )


@strawberry.federation.type(
    keys=["id"], description="A promotion activity (促销活动) on goods, valid in a time window."
)
class PromotionActivity:
    id: strawberry.ID
    name: str
    kind: PromotionKind
    status: PromotionStatus
    starts_at: datetime = strawberry.field(description="Start of the window (inclusive), UTC.")
    ends_at: datetime = strawberry.field(description="End of the window (exclusive), UTC.")
    created_at: datetime
    external_id: str | None = strawberry.field(
        default=None,
        description="The activity's id in the ERP or POS it was imported from; null when "
        "created here.",
    )

    @classmethod
    def of(cls, value: PromotionActivityInfo) -> PromotionActivity:
        return cls(
            id=strawberry.ID(str(value.id)),
            name=value.name,
            kind=value.kind,
            status=value.status,
            starts_at=value.starts_at,
            ends_at=value.ends_at,
            created_at=value.created_at,
            external_id=value.external_id,
        )

    @strawberry.field(description="What it gives, where, and how it stacks.")
    async def rules(self, info: Ctx) -> PromotionRulesType | None:
        found = await loaders.activity_details(info.context).load(uuid.UUID(self.id))
        return PromotionRulesType.of(found.rules) if found else None

    @strawberry.field(description="Discount given so far against the budget.")
    async def budget_used(self, info: Ctx) -> int:
        found = await loaders.activity_details(info.context).load(uuid.UUID(self.id))
        return found.budget_used if found else 0

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> PromotionActivity | None:
        activity_id = try_parse_id(id)
        found = await loaders.activities(info.context).load(activity_id) if activity_id else None
        return cls.of(found) if found else None


@strawberry.input(description="Where a rule applies; leave a list out (or empty) for any.")
class PromotionScopeInput:
    store_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    channels: list[str] = strawberry.field(default_factory=list)
    member_levels: list[int] = strawberry.field(default_factory=list)
    sku_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    product_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    category_ids: list[strawberry.ID] = strawberry.field(default_factory=list)

    def to_domain(self, path: list[str]) -> PromotionScope:
        def ids(values: list[strawberry.ID], name: str) -> tuple[uuid.UUID, ...]:
            return tuple(parse_id(v, [*path, name]) for v in values)

        return PromotionScope(
            store_ids=ids(self.store_ids, "storeIds"),
            channels=tuple(self.channels),
            member_levels=tuple(self.member_levels),
            sku_ids=ids(self.sku_ids, "skuIds"),
            product_ids=ids(self.product_ids, "productIds"),
            category_ids=ids(self.category_ids, "categoryIds"),
        )


@strawberry.input
class SpendTierInput:
    threshold: int
    discount: int


@strawberry.input(description="The parameters of an activity; each kind reads its own.")
class PromotionRulesInput:
    tiers: list[SpendTierInput] = strawberry.field(
        default_factory=list, description="SPEND_AND_SAVE (满减): 1 to 10 tiers."
    )
    discount_basis_points: int = strawberry.field(
        default=0, description="PERCENT_OFF: 1-9999 basis points off (2000 = 8折)."
    )
    unit_price: int = strawberry.field(
        default=0,
        description="FIXED_PRICE, FLASH_SALE, PRESALE_DEPOSIT, GROUP_BUY: price per unit (minor units).",
    )
    buy_quantity: int = strawberry.field(default=0, description="BUY_X_GET_Y: buy this many…")
    get_quantity: int = strawberry.field(default=0, description="…get this many free.")
    bundle_sku_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="BUNDLE: one of each of 2-20 skus…"
    )
    bundle_price: int = strawberry.field(default=0, description="…for this price together.")
    group_size: int = strawberry.field(
        default=0, description="GROUP_BUY (拼团): 2-100 paid orders make a group…"
    )
    group_minutes: int = strawberry.field(
        default=0, description="…within this many minutes of its opening (1-10080)."
    )
    scope: PromotionScopeInput | None = None
    priority: int = strawberry.field(default=0, description="-1000 to 1000; higher first.")
    exclusive: bool = False
    stack_group: str | None = None
    budget: int | None = strawberry.field(
        default=None, description="Total discount it may give (minor units); null: no cap."
    )
    per_member_limit: int | None = strawberry.field(
        default=None, description="Orders per member (members only when set); null: no cap."
    )

    def to_domain(self) -> PromotionRules:
        path = ["input", "rules"]
        return PromotionRules(
            tiers=tuple(SpendTier(threshold=t.threshold, discount=t.discount) for t in self.tiers),
            discount_bp=self.discount_basis_points,
            unit_price=self.unit_price,
            buy_quantity=self.buy_quantity,
            get_quantity=self.get_quantity,
            bundle_sku_ids=tuple(parse_id(v, [*path, "bundleSkuIds"]) for v in self.bundle_sku_ids),
            bundle_price=self.bundle_price,
            group_size=self.group_size,
            group_minutes=self.group_minutes,
            scope=self.scope.to_domain([*path, "scope"]) if self.scope else PromotionScope(),
            priority=self.priority,
            exclusive=self.exclusive,
            stack_group=self.stack_group,
            budget=self.budget,
            per_member_limit=self.per_member_limit,
        )


@strawberry.input
class CreatePromotionActivityInput:
    name: str
    kind: PromotionKind
    starts_at: datetime = strawberry.field(description="With a time zone offset.")
    ends_at: datetime = strawberry.field(description="With a time zone offset; after startsAt.")
    rules: PromotionRulesInput | None = strawberry.field(
        default=None, description="Optional now; required (and checked) to activate."
    )


@strawberry.type
class CreatePromotionActivityPayload:
    promotion_activity: PromotionActivity | None
    user_errors: list[UserError]


@strawberry.input
class SetPromotionRulesInput:
    activity_id: strawberry.ID
    rules: PromotionRulesInput


@strawberry.input
class PromotionActivityIdInput:
    activity_id: strawberry.ID


@strawberry.type
class PromotionActivityPayload:
    promotion_activity: PromotionActivity | None
    user_errors: list[UserError]


async def _change(
    context: RequestContext, run: Callable[[], Awaitable[ActivityDetails]]
) -> PromotionActivityPayload:
    changed, errors = await attempt(context, run)
    return PromotionActivityPayload(
        promotion_activity=PromotionActivity.of(changed.activity) if changed else None,
        user_errors=errors,
    )


@strawberry.type
class ActivityQuery:
    @query(policy.READ_ACTIVITY)
    async def promotion_activity(self, info: Ctx, id: strawberry.ID) -> PromotionActivity | None:
        return await PromotionActivity.resolve_reference(info, id)

    @query(policy.READ_ACTIVITY, description="The brand's promotion activities, newest first.")
    async def promotion_activities(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[PromotionActivity]:
        context = info.context
        page = page_request(first, after)
        rows = await repository.list_activities(context.session, context.tenant_id, page)
        return connection(rows, page, PromotionActivity.of, lambda a: [a.id])


@strawberry.type
class ActivityMutation:
    @mutation(
        policy.MANAGE_ACTIVITY,
        description="Create a promotion activity as a DRAFT. Codes: INVALID_NAME, "
        "INVALID_WINDOW, INVALID_RULES, INVALID_ID.",
    )
    async def create_promotion_activity(
        self, info: Ctx, input: CreatePromotionActivityInput
    ) -> CreatePromotionActivityPayload:
        context = info.context
        created, errors = await attempt(
            context,
            lambda: service.create_activity(
                context.session,
                context.tenant_id,
                name=input.name,
                kind=input.kind,
                starts_at=input.starts_at,
                ends_at=input.ends_at,
                rules=input.rules.to_domain() if input.rules else None,
            ),
        )
        return CreatePromotionActivityPayload(
            promotion_activity=PromotionActivity.of(created) if created else None,
            user_errors=errors,
        )

    @mutation(
        policy.MANAGE_ACTIVITY,
        description="Replace a DRAFT activity's rules. Codes: INVALID_ID, ACTIVITY_NOT_FOUND, "
        "NOT_DRAFT, INVALID_RULES.",
    )
    async def set_promotion_rules(
        self, info: Ctx, input: SetPromotionRulesInput
    ) -> PromotionActivityPayload:
        context = info.context
        return await _change(
            context,
            lambda: service.set_rules(
                context.session,
                context.tenant_id,
                parse_id(input.activity_id, ["input", "activityId"]),
                input.rules.to_domain(),
            ),
        )

    @mutation(
        policy.MANAGE_ACTIVITY,
        description="DRAFT → ACTIVE: checkout applies it inside its window from now on. "
        "Codes: INVALID_ID, ACTIVITY_NOT_FOUND, KIND_NOT_PRICED, INVALID_RULES, "
        "INVALID_TRANSITION.",
    )
    async def activate_promotion_activity(
        self, info: Ctx, input: PromotionActivityIdInput
    ) -> PromotionActivityPayload:
        context = info.context
        return await _change(
            context,
            lambda: service.activate(
                context.session,
                context.tenant_id,
                parse_id(input.activity_id, ["input", "activityId"]),
            ),
        )

    @mutation(
        policy.MANAGE_ACTIVITY,
        description="End an activity for good. Codes: INVALID_ID, ACTIVITY_NOT_FOUND, "
        "INVALID_TRANSITION.",
    )
    async def end_promotion_activity(
        self, info: Ctx, input: PromotionActivityIdInput
    ) -> PromotionActivityPayload:
        context = info.context
        return await _change(
            context,
            lambda: service.end(
                context.session,
                context.tenant_id,
                parse_id(input.activity_id, ["input", "activityId"]),
            ),
        )
