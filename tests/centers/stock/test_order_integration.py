"""The deduction strategies with the order center, through placeOrder and its payment:
what a buyer and a cashier see on the stock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.builders import open_shop
from tests.centers.order.flows import pay, place
from tests.centers.order.test_place_order import stock_of
from tests.conftest import TenantFixture, gql

SETTINGS = """
mutation($input: SaveStockSettingsInput!) { saveStockSettings(input: $input) { userErrors { code } } }
"""


async def test_a_hold_that_expired_is_rechecked_and_deducted_at_payment(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=10)
    admin = await tenant.token("tenant_admin")
    await gql(
        client,
        admin,
        SETTINGS,
        {"input": {"deductionStrategy": "AT_ORDER", "reservationTtlSeconds": 120}},
    )
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [3])
    assert await stock_of(client, staff, shop) == {"onHand": 10, "reserved": 3, "available": 7}
    # The stock hold ends after 2 minutes; the order's own payment timeout (15) has not.
    await tenant.runtime.jobs.run_due(
        now=datetime.now(UTC) + timedelta(minutes=3), tenant_id=tenant.id
    )
    assert await stock_of(client, staff, shop) == {"onHand": 10, "reserved": 0, "available": 10}
    await pay(tenant, order["id"], order["total"]["amount"])
    assert await stock_of(client, staff, shop) == {"onHand": 7, "reserved": 0, "available": 7}


async def test_deduct_at_payment_holds_nothing_until_paid(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=10)
    admin = await tenant.token("tenant_admin")
    await gql(client, admin, SETTINGS, {"input": {"deductionStrategy": "AT_PAYMENT"}})
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [4])
    assert await stock_of(client, staff, shop) == {"onHand": 10, "reserved": 0, "available": 10}
    await pay(tenant, order["id"], order["total"]["amount"])
    assert await stock_of(client, staff, shop) == {"onHand": 6, "reserved": 0, "available": 6}
