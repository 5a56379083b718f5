"""Committing a quote for an order: idempotent, consumes exactly once, releases exactly
what it consumed, and holds coupons, budgets and per-member limits under real
concurrency (each order in its own transaction, as placeOrder runs them)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import sqlalchemy as sa

from centers.points import api as points_api
from centers.points import orders as points_orders
from centers.points.dto import PointsRules
from centers.promotion import api as promotion_api
from centers.promotion.dto import PriceQuote, PricingLine, PricingRequest
from kernel.errors import UserInputError
from tests.builders import Shop, open_shop
from tests.centers.promotion.arrange import coupon_template, issue, live_activity, register
from tests.conftest import TenantFixture


def request(
    shop: Shop,
    *,
    member: uuid.UUID | None = None,
    coupons: tuple[str, ...] = (),
    points: int = 0,
    quantity: int = 1,
) -> PricingRequest:
    return PricingRequest(
        store_id=shop.store_id,
        channel="MINI_PROGRAM",
        member_id=member,
        coupon_codes=coupons,
        points_to_redeem=points,
        currency="CNY",
        at=datetime.now(UTC),
        lines=(
            PricingLine(
                sku_id=shop.sku_ids[0],
                product_id=uuid.uuid4(),
                category_id=None,
                quantity=quantity,
                unit_price=shop.prices[0],
            ),
        ),
    )


async def quote(tenant: TenantFixture, value: PricingRequest) -> PriceQuote:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        return await promotion_api.quote(session, tenant.id, value)


async def commit(tenant: TenantFixture, value: PricingRequest, order_id: uuid.UUID) -> PriceQuote:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        return await promotion_api.commit_quote(session, tenant.id, value, order_id)


async def release(tenant: TenantFixture, order_id: uuid.UUID) -> None:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await promotion_api.release_for_order(session, tenant.id, order_id)


async def attempt(tenant: TenantFixture, value: PricingRequest) -> PriceQuote | str:
    try:
        return await commit(tenant, value, uuid.uuid4())
    except UserInputError as error:
        return error.code


async def scalar(tenant: TenantFixture, sql: str, **params: object) -> int:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        value = await session.scalar(sa.text(sql), params)
    return int(value or 0)


async def give_points(tenant: TenantFixture, member: uuid.UUID, points: int) -> None:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await points_orders.set_rules(
            session,
            tenant.id,
            PointsRules(
                earn_points=1,
                earn_per_amount=100,
                redeem_unit_points=100,
                redeem_unit_value=100,
                redeem_max_bp=10_000,
                expiry_days=None,
            ),
        )
        await points_api.adjust_points(
            session,
            tenant.id,
            idempotency_key=f"seed-{member}",
            member_id=member,
            delta=points,
            reason="gift",
        )


async def balance(tenant: TenantFixture, member: uuid.UUID) -> int:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        return await points_api.get_balance(session, tenant.id, member)


async def test_commit_returns_what_quote_returned(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await live_activity(client, admin, "PERCENT_OFF", {"discountBasisPoints": 1000})
    member = await register(tenant)
    await give_points(tenant, member, 1000)
    cart = request(shop, member=member, points=300, quantity=2)
    assert await commit(tenant, cart, uuid.uuid4()) == await quote(tenant, cart)


async def test_commit_is_idempotent_per_order(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    member = await register(tenant)
    await give_points(tenant, member, 1000)
    await live_activity(
        client, admin, "PERCENT_OFF", {"discountBasisPoints": 1000, "budget": 10_000}
    )
    cart = request(shop, member=member, points=200)
    order_id = uuid.uuid4()
    first = await commit(tenant, cart, order_id)
    again = await commit(tenant, cart, order_id)
    assert again == first
    assert await balance(tenant, member) == 800
    assert (
        await scalar(
            tenant, "SELECT budget_used FROM promotion.activity WHERE tenant_id = :t", t=tenant.id
        )
        == 120
    )


async def test_committing_another_cart_for_the_same_order_is_refused(tenant: TenantFixture) -> None:
    shop = await open_shop(tenant)
    order_id = uuid.uuid4()
    await commit(tenant, request(shop), order_id)
    try:
        await commit(tenant, request(shop, quantity=2), order_id)
    except UserInputError as error:
        assert error.code == "PRICING_MISMATCH"
    else:
        raise AssertionError("a second cart for one order must be refused")


async def test_release_gives_back_the_coupon_budget_member_use_and_points(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    member = await register(tenant)
    await give_points(tenant, member, 1000)
    await live_activity(
        client,
        admin,
        "PERCENT_OFF",
        {"discountBasisPoints": 1000, "budget": 10_000, "perMemberLimit": 1},
    )
    template = await coupon_template(client, admin)
    coupon = (await issue(client, admin, template["id"], member))["coupon"]
    cart = request(shop, member=member, coupons=(coupon["code"],), points=100)
    order_id = uuid.uuid4()
    await commit(tenant, cart, order_id)
    assert await attempt(tenant, cart) == "COUPON_EXHAUSTED"
    await release(tenant, order_id)
    await release(tenant, order_id)  # idempotent
    assert await balance(tenant, member) == 1000
    assert (
        await scalar(
            tenant, "SELECT budget_used FROM promotion.activity WHERE tenant_id = :t", t=tenant.id
        )
        == 0
    )
    # Everything is usable again by a new order: coupon, per-member use, points.
    again = await commit(tenant, cart, uuid.uuid4())
    assert {a.source.value for a in again.allocations} == {"PROMOTION", "COUPON", "POINTS"}


async def test_an_issued_coupon_is_used_by_exactly_one_of_concurrent_orders(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    member = await register(tenant)
    template = await coupon_template(client, admin)
    coupon = (await issue(client, admin, template["id"], member))["coupon"]
    cart = request(shop, member=member, coupons=(coupon["code"],))
    results = await asyncio.gather(*(attempt(tenant, cart) for _ in range(12)))
    won = [r for r in results if isinstance(r, PriceQuote)]
    assert len(won) == 1
    assert set(r for r in results if isinstance(r, str)) == {"COUPON_EXHAUSTED"}
    assert (
        await scalar(
            tenant,
            "SELECT count(*) FROM promotion.coupon WHERE tenant_id = :t AND status = 'USED'",
            t=tenant.id,
        )
        == 1
    )


async def test_an_activity_budget_is_never_overrun_by_concurrent_orders(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    # 120 off per order (10% of 1200); the budget covers 3 orders and a bit.
    await live_activity(client, admin, "PERCENT_OFF", {"discountBasisPoints": 1000, "budget": 400})
    results = await asyncio.gather(*(attempt(tenant, request(shop)) for _ in range(12)))
    discounted = [r for r in results if isinstance(r, PriceQuote) and r.discount_total == 120]
    used = await scalar(
        tenant, "SELECT budget_used FROM promotion.activity WHERE tenant_id = :t", t=tenant.id
    )
    assert used <= 400
    assert used == 120 * len(discounted)
    assert len(discounted) == 3
    # Every loser either saw the budget run out (and was told to price again) or was
    # priced without the activity: never charged a discount that was not paid for.
    assert all(r == "BUDGET_EXHAUSTED" or isinstance(r, PriceQuote) for r in results)


async def test_a_per_member_limit_holds_under_concurrent_orders(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    member = await register(tenant)
    await live_activity(
        client, admin, "PERCENT_OFF", {"discountBasisPoints": 1000, "perMemberLimit": 2}
    )
    cart = request(shop, member=member)
    results = await asyncio.gather(*(attempt(tenant, cart) for _ in range(10)))
    discounted = [r for r in results if isinstance(r, PriceQuote) and r.discount_total > 0]
    assert len(discounted) == 2
    assert (
        await scalar(
            tenant, "SELECT used FROM promotion.member_usage WHERE tenant_id = :t", t=tenant.id
        )
        == 2
    )


async def test_a_shared_code_total_quantity_holds_under_concurrent_orders(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await coupon_template(client, admin, sharedCode="FIRST3", totalQuantity=3)
    results = await asyncio.gather(
        *(attempt(tenant, request(shop, coupons=("FIRST3",))) for _ in range(10))
    )
    assert len([r for r in results if isinstance(r, PriceQuote)]) == 3
    assert set(r for r in results if isinstance(r, str)) == {"COUPON_EXHAUSTED"}
    assert (
        await scalar(
            tenant,
            "SELECT redeemed FROM promotion.coupon_template WHERE tenant_id = :t",
            t=tenant.id,
        )
        == 3
    )


async def test_concurrent_point_redemptions_never_overdraw(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    member = await register(tenant)
    await give_points(tenant, member, 1000)
    # Each order redeems 300: at most 3 of 8 can be paid from 1000 points.
    cart = request(shop, member=member, points=300)
    results = await asyncio.gather(*(attempt(tenant, cart) for _ in range(8)))
    won = [r for r in results if isinstance(r, PriceQuote)]
    assert len(won) == 3
    assert set(r for r in results if isinstance(r, str)) == {"INSUFFICIENT_POINTS"}
    assert await balance(tenant, member) == 100
