"""The pricing contract end to end through the order center's public API: what
previewOrder shows is what placeOrder charges and what the payment asks for; a coupon
is used by one of many concurrent orders; cancelling gives it back."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx

from centers.points import api as points_api
from tests.builders import open_shop
from tests.centers.payment.arrange import points_member
from tests.centers.promotion.arrange import (
    SET_LEVEL,
    coupon_template,
    issue,
    live_activity,
    price_cart,
)
from tests.conftest import TenantFixture, gql

PREVIEW = """
query($input: PreviewOrderInput!) {
  previewOrder(input: $input) { payable { amount } discount { amount } explanation }
}
"""
PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order { id total { amount } discount { amount } }
    userErrors { field code }
  }
}
"""
CANCEL = """
mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { userErrors { code } } }
"""
PAYMENT = "query($id: ID!) { orderPayment(orderId: $id) { amount { amount } } }"


async def place(client: httpx.AsyncClient, token: str, cart: dict[str, Any]) -> dict[str, Any]:
    body = await gql(
        client, token, PLACE, {"input": {"idempotencyKey": secrets.token_hex(6), **cart}}
    )
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


async def test_preview_equals_what_place_order_charges_and_the_payment_asks(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await gql(
        client,
        admin,
        SET_LEVEL,
        {"input": {"level": 1, "name": "Silver", "growthThreshold": 0, "discountBasisPoints": 200}},
    )
    await live_activity(
        client,
        admin,
        "SPEND_AND_SAVE",
        {"tiers": [{"threshold": 2000, "discount": 300}]},
        name="满20减3",
    )
    await coupon_template(client, admin, sharedCode="TAKE5", amountOff=500)
    member = await points_member(tenant, 1000)
    cart = {
        "storeId": str(shop.store_id),
        "lines": [
            {"skuId": str(shop.sku_ids[0]), "quantity": 2},
            {"skuId": str(shop.sku_ids[2]), "quantity": 3},
        ],
        "memberId": str(member),
        "couponCodes": ["TAKE5"],
        "pointsToRedeem": 300,
    }
    preview = (await gql(client, cashier, PREVIEW, {"input": cart}))["data"]["previewOrder"]
    priced = await price_cart(
        client,
        cashier,
        shop.store_id,
        [(shop.sku_ids[0], 2), (shop.sku_ids[2], 3)],
        channel="POS",
        memberId=str(member),
        couponCodes=["TAKE5"],
        pointsToRedeem=300,
    )
    placed = await place(client, cashier, cart)
    assert placed["userErrors"] == []
    order = placed["order"]
    assert (
        preview["payable"]["amount"] == priced["quote"]["payableTotal"] == order["total"]["amount"]
    )
    assert preview["discount"]["amount"] == order["discount"]["amount"] > 0
    payment = (await gql(client, cashier, PAYMENT, {"id": order["id"]}))["data"]["orderPayment"]
    assert payment["amount"]["amount"] == order["total"]["amount"]
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        assert await points_api.get_balance(session, tenant.id, member) == 700


async def test_one_issued_coupon_goes_to_exactly_one_of_many_concurrent_orders(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    member = await points_member(tenant, 0)
    template = await coupon_template(client, admin)
    coupon = (await issue(client, admin, template["id"], member))["coupon"]
    cart = {
        "storeId": str(shop.store_id),
        "lines": [{"skuId": str(shop.sku_ids[0]), "quantity": 1}],
        "memberId": str(member),
        "couponCodes": [coupon["code"]],
    }
    results = await asyncio.gather(*(place(client, cashier, cart) for _ in range(8)))
    placed = [r for r in results if r["order"] is not None]
    assert len(placed) == 1
    assert {r["userErrors"][0]["code"] for r in results if r["order"] is None} == {
        "COUPON_EXHAUSTED"
    }
    # Cancelling the order gives the coupon back for the next one.
    body = await gql(
        client,
        cashier,
        CANCEL,
        {"input": {"orderId": placed[0]["order"]["id"], "reason": "changed my mind"}},
    )
    assert body["data"]["cancelOrder"]["userErrors"] == []
    again = await place(client, cashier, cart)
    assert again["userErrors"] == []
    assert again["order"]["discount"]["amount"] == 500
