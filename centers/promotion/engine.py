"""The pricing engine: pure, deterministic, explainable. No database, no clock.

The service loads what applies (activities in their window and cart scope, the coupons
asked for, the member's benefit, the points terms) and hands it here. The engine prices
in a fixed order, each step working on what the previous one left on each line:

1. promotion activities, by ``priority`` (highest first, then id): an activity of a
   ``stack_group`` already used is skipped; an ``exclusive`` activity applies only to
   lines no other activity touched, and then locks them;
2. the member benefit (member price, then member discount), on every line when it
   ``STACK``s, or only on lines no activity discounted when ``UNDISCOUNTED_ONLY``;
3. coupons, in the order the codes were given;
4. points redeemed as a discount, capped at a share of what is left.

Every discount that spans lines is split by largest remainder (``kernel.money.allocate``)
weighted by what each line still costs, so no line goes below zero and the parts sum to
the whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from centers.promotion.dto import (
    AllocationSource,
    LineAllocation,
    PricedLine,
    PriceQuote,
    PricingLine,
    PricingRequest,
    PromotionKind,
)
from kernel.errors import UserInputError
from kernel.money import allocate

BASIS_POINTS = 10_000


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a rule applies; an empty set means "any"."""

    store_ids: frozenset[uuid.UUID] = frozenset()
    channels: frozenset[str] = frozenset()
    member_levels: frozenset[int] = frozenset()
    sku_ids: frozenset[uuid.UUID] = frozenset()
    product_ids: frozenset[uuid.UUID] = frozenset()
    category_ids: frozenset[uuid.UUID] = frozenset()

    def matches_cart(self, request: PricingRequest, member_level: int | None) -> bool:
        if self.store_ids and request.store_id not in self.store_ids:
            return False
        if self.channels and request.channel.lower() not in self.channels:
            return False
        return not self.member_levels or (
            member_level is not None and member_level in self.member_levels
        )

    def matches_line(self, line: PricingLine) -> bool:
        if not (self.sku_ids or self.product_ids or self.category_ids):
            return True
        return (
            line.sku_id in self.sku_ids
            or line.product_id in self.product_ids
            or (line.category_id is not None and line.category_id in self.category_ids)
        )


@dataclass(frozen=True, slots=True)
class Tier:
    threshold: int  # spend at least this much (minor units) on eligible lines
    discount: int  # to save this much


@dataclass(frozen=True, slots=True)
class ActivityRule:
    id: uuid.UUID
    name: str
    kind: PromotionKind
    scope: Scope
    priority: int = 0
    exclusive: bool = False
    stack_group: str | None = None
    tiers: tuple[Tier, ...] = ()  # SPEND_AND_SAVE
    discount_bp: int = 0  # PERCENT_OFF: basis points off (2000 = 20% off = 8折)
    unit_price: int = 0  # FIXED_PRICE, FLASH_SALE: price per unit
    buy_quantity: int = 0  # BUY_X_GET_Y: every buy+get units of a line,
    get_quantity: int = 0  # get_quantity are free
    bundle_sku_ids: tuple[uuid.UUID, ...] = ()  # BUNDLE: one of each of these skus
    bundle_price: int = 0  # costs this together
    # What is left of the total discount budget; None: unlimited.
    budget_remaining: int | None = None
    # Orders per member; None: unlimited. ``member_uses``: orders of this member so far.
    per_member_limit: int | None = None
    member_uses: int = 0


@dataclass(frozen=True, slots=True)
class MemberBenefit:
    level_id: uuid.UUID
    level: int
    name: str
    discount_bp: int  # member discount in basis points off (200 = 9.8折); 0: none
    member_prices: dict[uuid.UUID, int] = field(default_factory=dict)  # sku -> unit price
    combine: str = "STACK"  # or "UNDISCOUNTED_ONLY"


@dataclass(frozen=True, slots=True)
class CouponOffer:
    """A coupon asked for and found usable (window, owner, limits checked by the service)."""

    code: str
    code_index: int  # position in ``PricingRequest.coupon_codes`` (for error fields)
    template_id: uuid.UUID
    coupon_id: uuid.UUID | None  # the issued coupon; None for a shared code
    name: str
    kind: str  # "AMOUNT_OFF" or "PERCENT_OFF"
    scope: Scope
    amount_off: int = 0
    discount_bp: int = 0
    max_discount: int | None = None
    min_spend: int = 0
    stacks_with_promotions: bool = True


@dataclass(frozen=True, slots=True)
class PointsTerms:
    redeem_unit_points: int  # points are redeemed in multiples of this…
    redeem_unit_value: int  # …each worth this many minor units
    redeem_max_bp: int  # at most this share of what is left to pay (basis points)
    balance: int  # the member's balance now


@dataclass(frozen=True, slots=True)
class AppliedActivity:
    """An activity that gave something, and how much: what committing must consume."""

    activity_id: uuid.UUID
    amount: int
    budgeted: bool
    member_limit: int | None


@dataclass(frozen=True, slots=True)
class PricingResult:
    quote: PriceQuote
    applied_activities: tuple[AppliedActivity, ...]
    used_coupons: tuple[CouponOffer, ...]


@dataclass
class _Cart:
    request: PricingRequest
    current: list[int]
    allocations: list[LineAllocation] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    touched: list[bool] = field(default_factory=list)  # discounted by an activity
    locked: list[bool] = field(default_factory=list)  # taken by an exclusive activity

    def give(
        self,
        parts: dict[int, int],
        source: AllocationSource,
        source_id: uuid.UUID | None,
        label: str,
    ) -> int:
        total = 0
        for index in sorted(parts):
            # A guard, not a rule: every computation below caps at what the line costs.
            amount = min(parts[index], self.current[index])
            if amount <= 0:
                continue
            self.current[index] -= amount
            total += amount
            self.allocations.append(
                LineAllocation(
                    line_index=index,
                    source=source,
                    source_id=source_id,
                    label=label,
                    amount=amount,
                )
            )
        return total


def _spread(total: int, indexes: Sequence[int], current: Sequence[int]) -> dict[int, int]:
    """``total`` over ``indexes`` in proportion to what each still costs."""
    if total <= 0 or not indexes:
        return {}
    weights = [current[i] for i in indexes]
    total = min(total, sum(weights))
    if total <= 0:
        return {}
    return dict(zip(indexes, allocate(total, weights), strict=True))


def _lines_text(parts: dict[int, int]) -> str:
    return ", ".join(f"line {i}: {parts[i]}" for i in sorted(parts) if parts[i] > 0)


def _activity_parts(rule: ActivityRule, cart: _Cart, eligible: list[int]) -> dict[int, int]:
    lines = cart.request.lines
    current = cart.current
    kind = rule.kind
    if kind is PromotionKind.SPEND_AND_SAVE:
        base = sum(current[i] for i in eligible)
        met = [t for t in rule.tiers if t.threshold <= base]
        if not met:
            return {}
        best = max(met, key=lambda t: (t.threshold, t.discount))
        return _spread(min(best.discount, base), eligible, current)
    if kind is PromotionKind.PERCENT_OFF:
        base = sum(current[i] for i in eligible)
        return _spread(base * rule.discount_bp // BASIS_POINTS, eligible, current)
    if kind in (
        PromotionKind.FIXED_PRICE,
        PromotionKind.FLASH_SALE,
        PromotionKind.PRESALE_DEPOSIT,
        PromotionKind.GROUP_BUY,
    ):
        return {i: max(0, current[i] - rule.unit_price * lines[i].quantity) for i in eligible}
    if kind is PromotionKind.BUY_X_GET_Y:
        group = rule.buy_quantity + rule.get_quantity
        parts: dict[int, int] = {}
        for i in eligible:
            free = (lines[i].quantity // group) * rule.get_quantity if group > 0 else 0
            # What the free units cost now (after earlier steps), rounded down.
            parts[i] = current[i] * free // lines[i].quantity
        return parts
    if kind is PromotionKind.BUNDLE:
        return _bundle_parts(rule, cart, eligible)
    return {}


def _bundle_parts(rule: ActivityRule, cart: _Cart, eligible: list[int]) -> dict[int, int]:
    lines = cart.request.lines
    current = cart.current
    members = [i for i in eligible if lines[i].sku_id in set(rule.bundle_sku_ids)]
    if not rule.bundle_sku_ids:
        return {}
    quantity_of: dict[uuid.UUID, int] = {}
    amount_of: dict[uuid.UUID, int] = {}
    for i in members:
        sku = lines[i].sku_id
        quantity_of[sku] = quantity_of.get(sku, 0) + lines[i].quantity
        amount_of[sku] = amount_of.get(sku, 0) + current[i]
    if any(sku not in quantity_of for sku in rule.bundle_sku_ids):
        return {}
    sets = min(quantity_of[sku] for sku in rule.bundle_sku_ids)
    unit_value = sum(amount_of[sku] // quantity_of[sku] for sku in rule.bundle_sku_ids)
    saving = sets * max(0, unit_value - rule.bundle_price)
    return _spread(saving, members, current)


def _apply_activities(
    cart: _Cart, activities: Sequence[ActivityRule], member_level: int | None
) -> list[AppliedActivity]:
    request = cart.request
    applied: list[AppliedActivity] = []
    groups: dict[str, str] = {}
    for rule in sorted(activities, key=lambda r: (-r.priority, r.id)):
        if not rule.scope.matches_cart(request, member_level):
            continue
        if rule.kind is PromotionKind.PRESALE_DEPOSIT and request.order_type != "PRESALE":
            if any(rule.scope.matches_line(line) for line in request.lines):
                cart.explanation.append(f"{rule.name}: skipped, it prices presale orders only")
            continue
        if rule.kind is PromotionKind.GROUP_BUY and request.group_buy_activity_id != rule.id:
            if any(rule.scope.matches_line(line) for line in request.lines):
                cart.explanation.append(f"{rule.name}: skipped, for orders joining its groups")
            continue
        in_scope = [i for i, line in enumerate(request.lines) if rule.scope.matches_line(line)]
        eligible = [i for i in in_scope if not cart.locked[i]]
        if not eligible:
            if in_scope:
                cart.explanation.append(
                    f"{rule.name}: skipped, its lines are taken by an exclusive activity"
                )
            continue
        if rule.stack_group is not None and rule.stack_group in groups:
            cart.explanation.append(
                f"{rule.name}: skipped, {groups[rule.stack_group]} of the same group "
                f"'{rule.stack_group}' applies"
            )
            continue
        if rule.exclusive and any(cart.touched[i] for i in eligible):
            cart.explanation.append(
                f"{rule.name}: skipped, it is exclusive and its lines already have a discount"
            )
            continue
        if rule.per_member_limit is not None:
            if request.member_id is None:
                cart.explanation.append(f"{rule.name}: skipped, for identified members only")
                continue
            if rule.member_uses >= rule.per_member_limit:
                cart.explanation.append(
                    f"{rule.name}: skipped, the member used it {rule.member_uses} "
                    f"time(s), the limit is {rule.per_member_limit}"
                )
                continue
        parts = _activity_parts(rule, cart, eligible)
        wanted = sum(min(amount, cart.current[i]) for i, amount in parts.items() if amount > 0)
        if wanted <= 0:
            cart.explanation.append(f"{rule.name}: no discount, its condition is not met")
            continue
        if rule.budget_remaining is not None and wanted > rule.budget_remaining:
            cart.explanation.append(f"{rule.name}: skipped, its budget is exhausted")
            continue
        given = cart.give(parts, AllocationSource.PROMOTION, rule.id, rule.name)
        for i, amount in parts.items():
            if amount > 0:
                cart.touched[i] = True
        if rule.exclusive:
            for i in eligible:
                cart.locked[i] = True
        if rule.stack_group is not None:
            groups[rule.stack_group] = rule.name
        cart.explanation.append(f"{rule.name}: {given} off ({_lines_text(parts)})")
        applied.append(
            AppliedActivity(
                activity_id=rule.id,
                amount=given,
                budgeted=rule.budget_remaining is not None,
                member_limit=rule.per_member_limit,
            )
        )
    return applied


def _apply_member(cart: _Cart, benefit: MemberBenefit) -> None:
    lines = cart.request.lines
    eligible = [i for i in range(len(lines)) if benefit.combine == "STACK" or not cart.touched[i]]
    if not eligible:
        cart.explanation.append(
            f"{benefit.name}: member benefit skipped, every line already has a promotion"
        )
        return
    prices = {
        i: max(0, cart.current[i] - benefit.member_prices[lines[i].sku_id] * lines[i].quantity)
        for i in eligible
        if lines[i].sku_id in benefit.member_prices
    }
    given = cart.give(prices, AllocationSource.MEMBER, benefit.level_id, f"{benefit.name} 会员价")
    if given:
        cart.explanation.append(f"{benefit.name} member price: {given} off ({_lines_text(prices)})")
    if benefit.discount_bp > 0:
        base = sum(cart.current[i] for i in eligible)
        parts = _spread(base * benefit.discount_bp // BASIS_POINTS, eligible, cart.current)
        given = cart.give(
            parts, AllocationSource.MEMBER, benefit.level_id, f"{benefit.name} 会员折扣"
        )
        if given:
            cart.explanation.append(
                f"{benefit.name} member discount: {given} off ({_lines_text(parts)})"
            )


def _coupon_error(offer: CouponOffer, message: str, code: str) -> UserInputError:
    return UserInputError(message, code=code, field=["input", "couponCodes", str(offer.code_index)])


def _apply_coupon(cart: _Cart, offer: CouponOffer, member_level: int | None) -> None:
    request = cart.request
    if not offer.scope.matches_cart(request, member_level):
        raise _coupon_error(
            offer,
            f"coupon {offer.code} does not apply to this store, channel or member",
            "COUPON_NOT_APPLICABLE",
        )
    eligible = [
        i
        for i, line in enumerate(request.lines)
        if offer.scope.matches_line(line)
        and (offer.stacks_with_promotions or not cart.touched[i])
        and cart.current[i] > 0
    ]
    base = sum(cart.current[i] for i in eligible)
    if not eligible or base < max(offer.min_spend, 1):
        raise _coupon_error(
            offer,
            f"coupon {offer.code} needs {offer.min_spend} spent on eligible goods, the cart has "
            f"{base}",
            "COUPON_NOT_APPLICABLE",
        )
    if offer.kind == "AMOUNT_OFF":
        total = min(offer.amount_off, base)
    else:
        total = base * offer.discount_bp // BASIS_POINTS
        if offer.max_discount is not None:
            total = min(total, offer.max_discount)
    parts = _spread(total, eligible, cart.current)
    given = cart.give(parts, AllocationSource.COUPON, offer.template_id, offer.name)
    cart.explanation.append(f"coupon {offer.name}: {given} off ({_lines_text(parts)})")


def points_value(points: int, terms: PointsTerms) -> int:
    return points // terms.redeem_unit_points * terms.redeem_unit_value


def _apply_points(cart: _Cart, points: int, terms: PointsTerms | None) -> None:
    field_path = ["input", "pointsToRedeem"]
    if cart.request.member_id is None:
        raise UserInputError(
            "only a member can redeem points", code="MEMBER_REQUIRED", field=field_path
        )
    if terms is None:
        raise UserInputError(
            "this brand does not take points as a discount",
            code="POINTS_NOT_ACCEPTED",
            field=field_path,
        )
    if points % terms.redeem_unit_points:
        raise UserInputError(
            f"points are redeemed in multiples of {terms.redeem_unit_points}",
            code="INVALID_POINTS",
            field=field_path,
        )
    if points > terms.balance:
        raise UserInputError(
            f"the member has {terms.balance} points", code="INSUFFICIENT_POINTS", field=field_path
        )
    left = sum(cart.current)
    cap = left * terms.redeem_max_bp // BASIS_POINTS
    value = points_value(points, terms)
    if value > cap:
        most = cap // terms.redeem_unit_value * terms.redeem_unit_points
        raise UserInputError(
            f"at most {most} points can be redeemed on this order",
            code="POINTS_CAP_EXCEEDED",
            field=field_path,
        )
    parts = _spread(value, list(range(len(cart.current))), cart.current)
    given = cart.give(parts, AllocationSource.POINTS, None, f"{points} 积分抵现")
    cart.explanation.append(f"{points} points redeemed: {given} off ({_lines_text(parts)})")


def price(
    request: PricingRequest,
    *,
    activities: Sequence[ActivityRule],
    member_level: int | None,
    benefit: MemberBenefit | None,
    coupons: Sequence[CouponOffer],
    points_terms: PointsTerms | None,
) -> PricingResult:
    """Price ``request``; raises ``UserInputError`` for a coupon or points request that
    cannot be honoured (a promotion that does not apply is skipped and explained)."""
    for index, line in enumerate(request.lines):
        if line.quantity <= 0 or line.unit_price < 0:
            raise UserInputError(
                "quantity must be positive and unit price not negative",
                code="INVALID_QUANTITY",
                field=["input", "lines", str(index), "quantity"],
            )
    list_amounts = [line.unit_price * line.quantity for line in request.lines]
    n = len(list_amounts)
    cart = _Cart(
        request=request, current=list(list_amounts), touched=[False] * n, locked=[False] * n
    )
    applied = _apply_activities(cart, activities, member_level)
    if benefit is not None:
        _apply_member(cart, benefit)
    for offer in coupons:
        _apply_coupon(cart, offer, member_level)
    if request.points_to_redeem > 0:
        _apply_points(cart, request.points_to_redeem, points_terms)
    priced = tuple(
        PricedLine(
            line_index=i,
            list_amount=list_amounts[i],
            discount_amount=list_amounts[i] - cart.current[i],
            payable_amount=cart.current[i],
        )
        for i in range(n)
    )
    subtotal = sum(list_amounts)
    discount_total = sum(a.amount for a in cart.allocations)
    if not cart.explanation:
        cart.explanation.append("no promotion, benefit or coupon applies")
    quote = PriceQuote(
        lines=priced,
        allocations=tuple(cart.allocations),
        subtotal=subtotal,
        discount_total=discount_total,
        payable_total=subtotal - discount_total,
        points_redeemed=request.points_to_redeem if request.points_to_redeem > 0 else 0,
        explanation=tuple(cart.explanation),
    )
    return PricingResult(
        quote=quote, applied_activities=tuple(applied), used_coupons=tuple(coupons)
    )
