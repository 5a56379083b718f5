"""Placing prices through the promotion engine: discounts allocated to each line by
source, ``previewOrder`` shows exactly what ``placeOrder`` charges, and cancelling gives
coupons back."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.builders import open_shop
from tests.centers.order.flows import PLACE, fire, place_input
from tests.centers.promotion.arrange import coupon_template, issue, live_activity, register
from tests.centers.promotion.test_commit_quote import balance, give_points
from tests.conftest import TenantFixture, gql

PREVIEW = """
query($input: PreviewOrderInput!) {
  previewOrder(input: $input) {
    lines { lineNo amount { amount } discount { amount } payable { amount }
            discounts { source label amount { amount } } }
    listAmount { amount } discount { amount } deliveryFee { amount } payable { amount }
    explanation
  }
}
"""
LINES = """
query($id: ID!) { order(id: $id) {
  listAmount { amount } discount { amount } payable { amount }
  lines { lineNo amount { amount } discount { amount } payable { amount }
          discounts { source label amount { amount } } }
} }
"""


async def _placed(
    client: httpx.AsyncClient, token: str, variables: dict[str, Any]
) -> dict[str, Any]:
    body = await gql(client, token, PLACE, variables)
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


async def test_preview_shows_exactly_what_placing_charges(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)  # 1200, 800, 350
    await live_activity(
        client,
        admin,
        "SPEND_AND_SAVE",
        {"tiers": [{"threshold": 2000, "discount": 200}, {"threshold": 3000, "discount": 500}]},
        name="满30减5",
    )
    variables = place_input(shop, [2, 1], channel="MINI_PROGRAM")
    preview_input = {k: v for k, v in variables["input"].items() if k != "idempotencyKey"}
    preview = (await gql(client, admin, PREVIEW, {"input": preview_input}))["data"]["previewOrder"]
    assert preview["listAmount"]["amount"] == 3200
    assert preview["discount"]["amount"] == 500
    assert preview["payable"]["amount"] == 2700
    assert [line["discount"]["amount"] for line in preview["lines"]] == [375, 125]
    assert (
        preview["lines"][0]["discounts"]
        == [{"source": "PROMOTION", "label": "满30减5", "amount": {"amount": 375}}]
        or preview["lines"][0]["discounts"][0]["source"] == "PROMOTION"
    )
    placed = await _placed(client, admin, variables)
    assert placed["userErrors"] == []
    order = (await gql(client, admin, LINES, {"id": placed["order"]["id"]}))["data"]["order"]
    assert order["listAmount"] == preview["listAmount"]
    assert order["discount"] == preview["discount"]
    assert order["payable"] == preview["payable"]
    for stored, previewed in zip(order["lines"], preview["lines"], strict=True):
        assert stored["payable"] == previewed["payable"]
        assert stored["discounts"] == previewed["discounts"]
        assert (
            sum(d["amount"]["amount"] for d in stored["discounts"]) == stored["discount"]["amount"]
        )


async def test_cancelling_gives_the_coupon_back(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    template = await coupon_template(client, admin)  # ¥5 off
    member = await register(tenant)
    coupon = (await issue(client, admin, template["id"], member))["coupon"]

    def order(key: str) -> dict[str, Any]:
        variables = place_input(shop, [1], key=key)
        variables["input"] |= {"memberId": str(member), "couponCodes": [coupon["code"]]}
        return variables

    first = await _placed(client, admin, order(secrets.token_hex(6)))
    assert first["userErrors"] == [], first
    assert first["order"]["discount"]["amount"] == 500
    used = await _placed(client, admin, order(secrets.token_hex(6)))
    assert [e["code"] for e in used["userErrors"]] in (
        ["COUPON_EXHAUSTED"],
        ["COUPON_LIMIT_REACHED"],
        ["COUPON_NOT_FOUND"],
    )
    cancelled = await fire(client, admin, first["order"]["id"], "CANCEL")
    assert cancelled["userErrors"] == []
    again = await _placed(client, admin, order(secrets.token_hex(6)))
    assert again["userErrors"] == [] and again["order"]["discount"]["amount"] == 500


async def test_a_customer_cannot_spend_another_members_coupons(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    someone = await register(tenant)
    buyer = await tenant.token("customer")
    variables = place_input(shop, [1])
    variables["input"]["memberId"] = str(someone)
    refused = await _placed(client, buyer, variables)
    assert [e["code"] for e in refused["userErrors"]] == ["MEMBER_NOT_YOURS"]


async def test_points_redeemed_on_an_order_come_back_when_it_times_out(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    member = await register(tenant)
    await give_points(tenant, member, 1000)
    variables = place_input(shop, [1])
    variables["input"] |= {"memberId": str(member), "pointsToRedeem": 300}
    placed = await _placed(client, admin, variables)
    assert placed["userErrors"] == [], placed
    order = (await gql(client, admin, LINES, {"id": placed["order"]["id"]}))["data"]["order"]
    assert order["discount"]["amount"] == 300
    assert [d["source"] for d in order["lines"][0]["discounts"]] == ["POINTS"]
    assert await balance(tenant, member) == 700
    await tenant.runtime.jobs.run_due(
        now=datetime.now(UTC) + timedelta(minutes=16), tenant_id=tenant.id
    )
    assert await balance(tenant, member) == 1000


async def test_preview_writes_nothing_and_reports_bad_input(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    variables = place_input(shop, [2])
    preview_input = {k: v for k, v in variables["input"].items() if k != "idempotencyKey"}
    for _ in range(2):
        body = await gql(client, admin, PREVIEW, {"input": preview_input})
        assert body["data"]["previewOrder"]["payable"]["amount"] == 2400
    stock = await gql(
        client,
        admin,
        "query($id: ID!, $s: ID!) { sku(id: $id) { stock(storeId: $s) { reserved } } }",
        {"id": str(shop.sku_ids[0]), "s": str(shop.store_id)},
    )
    assert stock["data"]["sku"]["stock"]["reserved"] == 0
    orders = await gql(client, admin, "{ orders(first: 5) { edges { node { id } } } }")
    assert orders["data"]["orders"]["edges"] == []
    bad = await gql(client, admin, PREVIEW, {"input": {**preview_input, "couponCodes": ["NOPE"]}})
    assert bad["data"] is None or bad["data"]["previewOrder"] is None
    assert bad["errors"][0]["extensions"]["code"] == "COUPON_NOT_FOUND"
