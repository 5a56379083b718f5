"""A cart that consumes nothing (no coupon, points, budget or per-member limit) has its
pricing written in one insert. These pin what that path must keep from the claim-first
one: the stored row, idempotency per order (the stored quote wins over a new price),
refusals for another cart or a released order, and one row under concurrent commits."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa

from centers.promotion.dto import PricingLine, PricingRequest
from centers.promotion.pricing import _request_digest, quote_from_json
from kernel.errors import UserInputError
from kernel.idempotency import request_hash
from tests.builders import open_shop
from tests.centers.promotion.arrange import live_activity, register
from tests.centers.promotion.test_commit_quote import commit, release, request, scalar
from tests.conftest import TenantFixture


async def pricing_row(tenant: TenantFixture, order_id: uuid.UUID) -> dict[str, Any]:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        row = (
            (
                await session.execute(
                    sa.text(
                        "SELECT request_hash, quote, consumed, status FROM promotion.order_pricing"
                        " WHERE tenant_id = :t AND order_id = :o"
                    ),
                    {"t": tenant.id, "o": order_id},
                )
            )
            .mappings()
            .one()
        )
    return dict(row)


async def code_of(tenant: TenantFixture, cart: Any, order_id: uuid.UUID) -> str | None:
    try:
        await commit(tenant, cart, order_id)
    except UserInputError as error:
        return error.code
    return None


async def test_the_row_holds_the_quote_and_nothing_consumed(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await live_activity(client, admin, "PERCENT_OFF", {"discountBasisPoints": 1000})
    member = await register(tenant)
    cart = request(shop, member=member, quantity=2)
    order_id = uuid.uuid4()
    committed = await commit(tenant, cart, order_id)
    assert committed.discount_total > 0
    row = await pricing_row(tenant, order_id)
    assert row["status"] == "COMMITTED"
    assert quote_from_json(row["quote"]) == committed
    assert row["consumed"] == {
        "member_id": str(member),
        "budgets": [],
        "member_uses": [],
        "coupons": [],
        "shared_codes": [],
        "points": 0,
    }


async def test_a_retried_order_answers_its_stored_quote_not_a_new_price(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    cart = request(shop)
    order_id = uuid.uuid4()
    first = await commit(tenant, cart, order_id)
    assert first.discount_total == 0
    # A promotion that starts afterwards would price the cart lower now.
    await live_activity(client, admin, "PERCENT_OFF", {"discountBasisPoints": 2000})
    assert (await commit(tenant, cart, uuid.uuid4())).discount_total > 0
    assert await commit(tenant, cart, order_id) == first
    assert (
        await scalar(
            tenant,
            "SELECT count(*) FROM promotion.order_pricing WHERE tenant_id = :t AND order_id = :o",
            t=tenant.id,
            o=order_id,
        )
        == 1
    )


async def test_another_cart_or_a_released_order_is_refused(tenant: TenantFixture) -> None:
    shop = await open_shop(tenant)
    cart = request(shop)
    order_id = uuid.uuid4()
    await commit(tenant, cart, order_id)
    assert await code_of(tenant, request(shop, quantity=3), order_id) == "PRICING_MISMATCH"
    await release(tenant, order_id)
    assert (await pricing_row(tenant, order_id))["status"] == "RELEASED"
    assert await code_of(tenant, cart, order_id) == "PRICING_RELEASED"


async def test_a_refused_cart_of_a_committed_order_still_answers_from_the_row(
    tenant: TenantFixture,
) -> None:
    shop = await open_shop(tenant)
    order_id = uuid.uuid4()
    await commit(tenant, request(shop), order_id)
    # Pricing this cart is refused (no such member); the order's row answers first.
    stranger = request(shop, member=uuid.uuid4())
    assert await code_of(tenant, stranger, order_id) == "PRICING_MISMATCH"
    assert await code_of(tenant, stranger, uuid.uuid4()) == "MEMBER_NOT_FOUND"


async def test_concurrent_commits_of_one_order_write_one_row_and_agree(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await live_activity(client, admin, "PERCENT_OFF", {"discountBasisPoints": 1000})
    cart = request(shop, quantity=2)
    order_id = uuid.uuid4()
    quotes = await asyncio.gather(*(commit(tenant, cart, order_id) for _ in range(4)))
    assert all(q == quotes[0] for q in quotes)
    assert quotes[0].discount_total > 0
    assert (
        await scalar(
            tenant,
            "SELECT count(*) FROM promotion.order_pricing WHERE tenant_id = :t AND order_id = :o",
            t=tenant.id,
            o=order_id,
        )
        == 1
    )


async def test_a_budgeted_promotion_is_still_consumed_once(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await live_activity(
        client, admin, "PERCENT_OFF", {"discountBasisPoints": 1000, "budget": 10_000}
    )
    cart = request(shop)
    order_id = uuid.uuid4()
    first = await commit(tenant, cart, order_id)
    assert await commit(tenant, cart, order_id) == first
    row = await pricing_row(tenant, order_id)
    assert quote_from_json(row["quote"]) == first
    assert [amount for _, amount in row["consumed"]["budgets"]] == [first.discount_total]
    used = await scalar(
        tenant, "SELECT budget_used FROM promotion.activity WHERE tenant_id = :t", t=tenant.id
    )
    assert used == first.discount_total > 0


def test_the_request_digest_is_the_one_stored_rows_were_written_with() -> None:
    # Rows committed before the digest stopped deep-copying must still match a retry.
    line = PricingLine(
        sku_id=uuid.uuid4(), product_id=uuid.uuid4(), category_id=None, quantity=2, unit_price=1200
    )
    cart = PricingRequest(
        store_id=uuid.uuid4(),
        channel="POS",
        member_id=uuid.uuid4(),
        coupon_codes=("SPRING", "vip"),
        points_to_redeem=300,
        currency="CNY",
        at=datetime.now(UTC),
        lines=(line, dataclasses.replace(line, category_id=uuid.uuid4(), quantity=1)),
        order_type="PRESALE",
        group_buy_activity_id=uuid.uuid4(),
    )
    for value in (cart, dataclasses.replace(cart, member_id=None, coupon_codes=(), lines=())):
        assert _request_digest(value) == request_hash(dataclasses.asdict(value))
