"""Properties of the pricing engine over random carts, activities, benefits and coupons."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from centers.promotion.dto import AllocationSource, PricingLine, PricingRequest, PromotionKind
from centers.promotion.engine import (
    ActivityRule,
    CouponOffer,
    MemberBenefit,
    PointsTerms,
    PricingResult,
    Scope,
    Tier,
    price,
)
from kernel.errors import UserInputError

SKUS = [uuid.UUID(int=i + 1) for i in range(6)]
PRODUCTS = [uuid.UUID(int=100 + i) for i in range(3)]
STORE = uuid.UUID(int=999)
MEMBER = uuid.UUID(int=777)
AT = datetime(2030, 5, 1, tzinfo=UTC)

lines = st.lists(
    st.builds(
        lambda sku, qty, unit: PricingLine(
            sku_id=SKUS[sku],
            product_id=PRODUCTS[sku % 3],
            category_id=None,
            quantity=qty,
            unit_price=unit,
        ),
        st.integers(0, 5),
        st.integers(1, 12),
        st.integers(0, 50_000),
    ),
    min_size=1,
    max_size=6,
)
scopes = st.builds(
    lambda skus, products: Scope(
        sku_ids=frozenset(SKUS[i] for i in skus),
        product_ids=frozenset(PRODUCTS[i] for i in products),
    ),
    st.sets(st.integers(0, 5), max_size=3),
    st.sets(st.integers(0, 2), max_size=2),
)


@st.composite
def activities(draw: st.DrawFn) -> ActivityRule:
    kind = draw(
        st.sampled_from(
            [
                PromotionKind.SPEND_AND_SAVE,
                PromotionKind.PERCENT_OFF,
                PromotionKind.FIXED_PRICE,
                PromotionKind.FLASH_SALE,
                PromotionKind.BUY_X_GET_Y,
                PromotionKind.BUNDLE,
            ]
        )
    )
    thresholds = draw(st.lists(st.integers(1, 200_000), min_size=1, max_size=3, unique=True))
    return ActivityRule(
        id=uuid.UUID(int=draw(st.integers(1000, 1100))),
        name=f"{kind.value}",
        kind=kind,
        scope=draw(scopes),
        priority=draw(st.integers(-3, 3)),
        exclusive=draw(st.booleans()),
        stack_group=draw(st.sampled_from([None, "A", "B"])),
        tiers=tuple(Tier(threshold=t, discount=draw(st.integers(1, t))) for t in thresholds),
        discount_bp=draw(st.integers(1, 9999)),
        unit_price=draw(st.integers(0, 30_000)),
        buy_quantity=draw(st.integers(1, 3)),
        get_quantity=draw(st.integers(1, 2)),
        bundle_sku_ids=tuple(
            SKUS[i] for i in draw(st.sets(st.integers(0, 5), min_size=2, max_size=3))
        ),
        bundle_price=draw(st.integers(0, 60_000)),
        budget_remaining=draw(st.one_of(st.none(), st.integers(0, 100_000))),
    )


benefits = st.one_of(
    st.none(),
    st.builds(
        lambda bp, combine, priced: MemberBenefit(
            level_id=uuid.UUID(int=55),
            level=2,
            name="Gold",
            discount_bp=bp,
            member_prices={SKUS[i]: p for i, p in priced.items()},
            combine=combine,
        ),
        st.integers(0, 9999),
        st.sampled_from(["STACK", "UNDISCOUNTED_ONLY"]),
        st.dictionaries(st.integers(0, 5), st.integers(0, 40_000), max_size=3),
    ),
)
coupons = st.lists(
    st.builds(
        lambda i, kind, off, bp, cap: CouponOffer(
            code=f"C{i}",
            code_index=i,
            template_id=uuid.UUID(int=2000 + i),
            coupon_id=None,
            name=f"coupon {i}",
            kind=kind,
            scope=Scope(),
            amount_off=off,
            discount_bp=bp,
            max_discount=cap,
        ),
        st.integers(0, 0),
        st.sampled_from(["AMOUNT_OFF", "PERCENT_OFF"]),
        st.integers(1, 100_000),
        st.integers(1, 9999),
        st.one_of(st.none(), st.integers(1, 50_000)),
    ),
    max_size=1,
)


def run(
    cart: list[PricingLine],
    rules: list[ActivityRule],
    benefit: MemberBenefit | None,
    offers: list[CouponOffer],
    points: int = 0,
) -> PricingResult:
    request = PricingRequest(
        store_id=STORE,
        channel="APP",
        member_id=MEMBER,
        coupon_codes=tuple(o.code for o in offers),
        points_to_redeem=points,
        currency="CNY",
        at=AT,
        lines=tuple(cart),
    )
    return price(
        request,
        activities=rules,
        member_level=2,
        benefit=benefit,
        coupons=offers,
        points_terms=PointsTerms(
            redeem_unit_points=100, redeem_unit_value=100, redeem_max_bp=10_000, balance=10**9
        ),
    )


@settings(max_examples=50, deadline=None)
@given(lines, st.lists(activities(), max_size=4, unique_by=lambda r: r.id), benefits)
def test_charged_total_equals_the_sum_of_line_payables(
    cart: list[PricingLine], rules: list[ActivityRule], benefit: MemberBenefit | None
) -> None:
    quote = run(cart, rules, benefit, []).quote
    assert quote.payable_total == sum(line.payable_amount for line in quote.lines)
    assert quote.subtotal == sum(line.unit_price * line.quantity for line in cart)
    assert quote.discount_total == sum(a.amount for a in quote.allocations)
    assert quote.payable_total == quote.subtotal - quote.discount_total


@settings(max_examples=50, deadline=None)
@given(lines, st.lists(activities(), max_size=4, unique_by=lambda r: r.id), benefits)
def test_no_line_goes_negative_and_allocations_add_up_per_line(
    cart: list[PricingLine], rules: list[ActivityRule], benefit: MemberBenefit | None
) -> None:
    quote = run(cart, rules, benefit, []).quote
    for line in quote.lines:
        assert line.payable_amount >= 0
        given_to_line = sum(a.amount for a in quote.allocations if a.line_index == line.line_index)
        assert line.discount_amount == given_to_line
        assert line.list_amount - line.discount_amount == line.payable_amount
    assert all(a.amount > 0 for a in quote.allocations)


@settings(max_examples=50, deadline=None)
@given(lines, st.lists(activities(), max_size=4, unique_by=lambda r: r.id), benefits)
def test_pricing_is_deterministic_whatever_the_order_of_activities(
    cart: list[PricingLine], rules: list[ActivityRule], benefit: MemberBenefit | None
) -> None:
    first = run(cart, rules, benefit, []).quote
    assert run(cart, list(reversed(rules)), benefit, []).quote == first


@settings(max_examples=50, deadline=None)
@given(lines, st.lists(activities(), max_size=3, unique_by=lambda r: r.id))
def test_budget_is_never_exceeded_by_one_quote(
    cart: list[PricingLine], rules: list[ActivityRule]
) -> None:
    result = run(cart, rules, None, [])
    budgets = {r.id: r.budget_remaining for r in rules}
    for applied in result.applied_activities:
        remaining = budgets[applied.activity_id]
        if remaining is not None:
            assert applied.amount <= remaining


@settings(max_examples=50, deadline=None)
@given(lines, st.lists(activities(), max_size=3, unique_by=lambda r: r.id), coupons)
def test_coupon_discount_never_exceeds_what_is_left(
    cart: list[PricingLine], rules: list[ActivityRule], offers: list[CouponOffer]
) -> None:
    before = run(cart, rules, None, []).quote.payable_total
    try:
        quote = run(cart, rules, None, offers).quote
    except UserInputError as error:
        # Refused only when nothing is left to discount (these coupons have no minimum).
        assert error.code == "COUPON_NOT_APPLICABLE"
        assert before == 0
        return
    coupon_total = sum(a.amount for a in quote.allocations if a.source is AllocationSource.COUPON)
    assert coupon_total <= before
    assert quote.payable_total == before - coupon_total


@settings(max_examples=25, deadline=None)
@given(lines, st.integers(0, 50))
def test_points_redeemed_are_allocated_in_full_within_the_cap(
    cart: list[PricingLine], hundreds: int
) -> None:
    payable = sum(line.unit_price * line.quantity for line in cart)
    points = min(hundreds, payable // 100) * 100
    quote = run(cart, [], None, [], points=points).quote
    points_total = sum(a.amount for a in quote.allocations if a.source is AllocationSource.POINTS)
    assert points_total == points  # 100 points = 100 minor units in these terms
    assert quote.payable_total == payable - points
