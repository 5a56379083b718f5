"""The delivery fee (运费) can be refunded through an after-sale request, once, back to
the tender that paid it, counted on the order and its sub-order."""

from __future__ import annotations

import uuid

import httpx

from centers.order import api as order_api
from centers.payment import api as payment_api
from tests.builders import open_shop
from tests.centers.order.flows import place
from tests.centers.order.test_after_sales import AMOUNTS, _move, _request
from tests.centers.order.test_payment_flow import _cash
from tests.conftest import TenantFixture, gql


async def _shipped_order_with_fee(
    client: httpx.AsyncClient, tenant: TenantFixture, token: str
) -> dict[str, object]:
    shop = await open_shop(tenant)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await order_api.save_settings(session, tenant.id, order_api.OrderSettings(delivery_fee=600))
    order = await place(client, token, shop, [1, 1])  # 1200 + 800 + 600 delivery
    assert order["deliveryFee"] == {"amount": 600}
    assert await _cash(tenant, str(order["id"]), 2600) == "TAKEN"
    return order


async def test_a_whole_refund_with_the_delivery_fee_gives_back_everything_paid(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    buyer = await tenant.token("customer")
    order = await _shipped_order_with_fee(client, tenant, buyer)
    asked = await gql(
        client,
        buyer,
        """mutation($input: RequestAfterSaleInput!) { requestAfterSale(input: $input) {
          afterSale { id amount { amount } lines { lineNo quantity amount { amount } } }
          userErrors { field code } } }""",
        {
            "input": {
                "idempotencyKey": "all-and-fee",
                "orderId": order["id"],
                "kind": "REFUND_ONLY",
                "deliveryFee": True,
            }
        },
    )
    payload = asked["data"]["requestAfterSale"]
    assert payload["userErrors"] == [], payload
    assert payload["afterSale"]["amount"]["amount"] == 2600
    assert [(x["lineNo"], x["amount"]["amount"]) for x in payload["afterSale"]["lines"]] == [
        (1, 1200),
        (2, 800),
        (0, 600),
    ]
    done = await _move(client, admin, payload["afterSale"]["id"], "APPROVE")
    assert done["afterSale"]["status"] == "REFUNDED"
    after = (await gql(client, buyer, AMOUNTS, {"id": order["id"]}))["data"]["order"]
    assert after["refunded"]["amount"] == 2600
    assert after["subOrders"][0]["refunded"]["amount"] == 2600
    assert after["status"] == "CLOSED"
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        refunds = await payment_api.refunds_of_order(
            session, tenant.id, uuid.UUID(str(order["id"]))
        )
    assert sum(r.amount.amount for r in refunds) == 2600


async def test_the_delivery_fee_is_refunded_once_even_when_asked_again(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    staff = await tenant.token("cashier")
    order = await _shipped_order_with_fee(client, tenant, staff)
    first = await _request(
        client, staff, str(order["id"]), "REFUND_ONLY", [{"lineNo": 2, "quantity": 1}]
    )
    assert first["userErrors"] == []
    # Only the fee, in a request of its own: the goods line stays as it is.
    body = await gql(
        client,
        staff,
        """mutation($input: RequestAfterSaleInput!) { requestAfterSale(input: $input) {
          afterSale { id amount { amount } } userErrors { field code } } }""",
        {
            "input": {
                "idempotencyKey": "fee-only",
                "orderId": order["id"],
                "kind": "REFUND_ONLY",
                "lines": [],
                "deliveryFee": True,
            }
        },
    )
    fee = body["data"]["requestAfterSale"]
    assert fee["userErrors"] == [], fee
    assert fee["afterSale"]["amount"]["amount"] == 600
    # A second claim on the fee while the first is open is refused…
    again = await gql(
        client,
        staff,
        """mutation($input: RequestAfterSaleInput!) { requestAfterSale(input: $input) {
          afterSale { id } userErrors { field code } } }""",
        {
            "input": {
                "idempotencyKey": "fee-again",
                "orderId": order["id"],
                "kind": "REFUND_ONLY",
                "lines": [],
                "deliveryFee": True,
            }
        },
    )
    assert again["data"]["requestAfterSale"]["userErrors"] == [
        {"field": ["input", "deliveryFee"], "code": "NOTHING_TO_REFUND"}
    ]
    await _move(client, admin, fee["afterSale"]["id"], "APPROVE")
    after = (await gql(client, staff, AMOUNTS, {"id": order["id"]}))["data"]["order"]
    assert after["refunded"]["amount"] == 600
    assert [line["refunded"]["amount"] for line in after["lines"]] == [0, 0]
    # …and so is one after it was refunded.
    later = await gql(
        client,
        staff,
        """mutation($input: RequestAfterSaleInput!) { requestAfterSale(input: $input) {
          afterSale { id } userErrors { field code } } }""",
        {
            "input": {
                "idempotencyKey": "fee-later",
                "orderId": order["id"],
                "kind": "REFUND_ONLY",
                "lines": [],
                "deliveryFee": True,
            }
        },
    )
    assert [e["code"] for e in later["data"]["requestAfterSale"]["userErrors"]] == [
        "NOTHING_TO_REFUND"
    ]
