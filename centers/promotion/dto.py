"""Frozen values the promotion center hands to other centers (re-exported by ``api``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class PromotionKind(StrEnum):
    SPEND_AND_SAVE = "SPEND_AND_SAVE"  # 满减: spend X, save Y, in tiers
    PERCENT_OFF = "PERCENT_OFF"  # 折扣
    FIXED_PRICE = "FIXED_PRICE"  # 一口价
    BUY_X_GET_Y = "BUY_X_GET_Y"  # 买X送Y
    BUNDLE = "BUNDLE"  # 组合/套餐
    FLASH_SALE = "FLASH_SALE"  # 秒杀
    GROUP_BUY = "GROUP_BUY"  # 拼团
    PRESALE_DEPOSIT = "PRESALE_DEPOSIT"  # 预售定金


class PromotionStatus(StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


@dataclass(frozen=True, slots=True)
class PromotionActivityInfo:
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    kind: PromotionKind
    status: PromotionStatus
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    # Set when imported from the tenant's ERP or POS: the activity's id there.
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    """What ``api.import_activity`` did: ``applied`` is False for a source version not
    newer than the last applied (nothing changed); ``rules_kept`` when the activity was
    no longer a DRAFT, so its rules stayed as they were (a live activity's rules do not
    change under the carts priced with them)."""

    activity: PromotionActivityInfo
    created: bool
    applied: bool
    rules_kept: bool = False


@dataclass(frozen=True, slots=True)
class ExternalPromotionActivity:
    """An activity as the tenant's ERP/POS knows it, for import (促销同步)."""

    external_id: str
    name: str
    kind: PromotionKind
    starts_at: datetime
    ends_at: datetime
    # Imports apply in source order: a row older than the one already applied is skipped.
    source_version: int


@dataclass(frozen=True, slots=True)
class ExternalPromotionPage:
    activities: tuple[ExternalPromotionActivity, ...]
    # Opaque to us; handed back on the next pull. ``None``: nothing further for now.
    next_cursor: str | None


# --- The pricing contract (order center ⇄ promotion engine) -------------------------


class AllocationSource(StrEnum):
    """Where a discount on a line came from; the four are kept apart on the order."""

    PROMOTION = "PROMOTION"  # an activity of this center (满减, 折扣, 一口价…)
    COUPON = "COUPON"  # 优惠券
    MEMBER = "MEMBER"  # the member level's benefit (member price, member discount)
    POINTS = "POINTS"  # points redeemed as a discount (积分抵现)


@dataclass(frozen=True, slots=True)
class PricingLine:
    """One cart line as the order center priced it from the product center."""

    sku_id: uuid.UUID
    product_id: uuid.UUID
    category_id: uuid.UUID | None
    quantity: int  # > 0
    unit_price: int  # list price per unit, minor units (分), >= 0


@dataclass(frozen=True, slots=True)
class PricingRequest:
    """A cart to price. ``at`` decides which activities and coupons are in their window."""

    store_id: uuid.UUID
    channel: str  # e.g. "MINI_PROGRAM", "APP", "POS"; matched against activity scopes
    member_id: uuid.UUID | None  # None: a guest (no member benefit, coupon or points)
    coupon_codes: tuple[str, ...]
    points_to_redeem: int  # 0: none; else a multiple of the tenant's redemption unit
    currency: str
    at: datetime
    lines: tuple[PricingLine, ...]
    # The order type being priced: ``PRESALE_DEPOSIT`` activities price PRESALE orders only.
    order_type: str = "STANDARD"
    # The GROUP_BUY activity whose group the order joins or opens; group prices apply
    # to such orders only.
    group_buy_activity_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class LineAllocation:
    """One discount given to one line by one source (金额分摊)."""

    line_index: int  # index into ``PricingRequest.lines``
    source: AllocationSource
    source_id: uuid.UUID | None  # activity, coupon (template) or member level id; None for points
    label: str  # human-readable, e.g. "满100减20"
    amount: int  # minor units, > 0


@dataclass(frozen=True, slots=True)
class PricedLine:
    line_index: int
    list_amount: int  # unit_price * quantity
    discount_amount: int  # sum of this line's allocations
    payable_amount: int  # list_amount - discount_amount, never negative


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """The priced cart. ``payable_total == sum(line.payable_amount)`` always."""

    lines: tuple[PricedLine, ...]
    allocations: tuple[LineAllocation, ...]
    subtotal: int  # sum of list amounts
    discount_total: int  # sum of allocations
    payable_total: int  # subtotal - discount_total
    points_redeemed: int  # points spent as a discount (source POINTS allocations)
    explanation: tuple[str, ...]  # one sentence per rule applied or skipped, in order


# --- Rules and coupons (admin side) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class PromotionScope:
    """Where a rule applies; an empty tuple means "any". A line is in scope when it
    matches any of ``sku_ids``/``product_ids``/``category_ids`` (or all are empty)."""

    store_ids: tuple[uuid.UUID, ...] = ()
    channels: tuple[str, ...] = ()
    member_levels: tuple[int, ...] = ()
    sku_ids: tuple[uuid.UUID, ...] = ()
    product_ids: tuple[uuid.UUID, ...] = ()
    category_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True, slots=True)
class SpendTier:
    threshold: int  # spend at least this (minor units) on goods in scope…
    discount: int  # …and save this


@dataclass(frozen=True, slots=True)
class PromotionRules:
    """What an activity gives (by kind), where, and how it stacks."""

    tiers: tuple[SpendTier, ...] = ()  # SPEND_AND_SAVE
    discount_bp: int = 0  # PERCENT_OFF: basis points off (2000 = 20% off = 8折)
    unit_price: int = 0  # FIXED_PRICE, FLASH_SALE: price per unit
    buy_quantity: int = 0  # BUY_X_GET_Y
    get_quantity: int = 0
    bundle_sku_ids: tuple[uuid.UUID, ...] = ()  # BUNDLE
    bundle_price: int = 0
    group_size: int = 0  # GROUP_BUY: orders that make a group (拼团人数)…
    group_minutes: int = 0  # …within this many minutes of the group opening
    scope: PromotionScope = PromotionScope()
    priority: int = 0  # higher applies first
    exclusive: bool = False  # applies only to lines nothing else discounted, then alone
    stack_group: str | None = None  # one activity per group applies (the first by priority)
    budget: int | None = None  # total discount it may give, minor units
    per_member_limit: int | None = None  # orders per member


@dataclass(frozen=True, slots=True)
class GroupBuyTerms:
    """A GROUP_BUY activity as the order center's groups need it."""

    activity_id: uuid.UUID
    active: bool  # ACTIVE and inside its window at the time asked
    group_size: int
    group_minutes: int
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class ActivityDetails:
    activity: PromotionActivityInfo
    rules: PromotionRules
    budget_used: int


class CouponKind(StrEnum):
    AMOUNT_OFF = "AMOUNT_OFF"  # 满减券 / 无门槛券: an amount off, above a minimum spend
    PERCENT_OFF = "PERCENT_OFF"  # 折扣券: basis points off, optionally capped


@dataclass(frozen=True, slots=True)
class CouponTemplateInfo:
    id: uuid.UUID
    name: str
    kind: CouponKind
    amount_off: int
    discount_bp: int
    max_discount: int | None
    min_spend: int
    scope: PromotionScope
    stacks_with_promotions: bool
    starts_at: datetime
    ends_at: datetime
    shared_code: str | None
    total_quantity: int | None
    issued: int
    redeemed: int
    per_member_limit: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CouponInfo:
    id: uuid.UUID
    template_id: uuid.UUID
    code: str
    member_id: uuid.UUID
    status: str  # AVAILABLE or USED
    order_id: uuid.UUID | None
    issued_at: datetime
    used_at: datetime | None
