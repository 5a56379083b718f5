"""Stored value (储值): topped up once per key, spent as a tender without ever going
below zero (even under concurrent payments), refunded back to it."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx

from tests.centers.payment.arrange import placed_order
from tests.centers.promotion.arrange import register
from tests.conftest import TenantFixture, gql

TOP_UP = """
mutation($input: TopUpStoredValueInput!) {
  topUpStoredValue(input: $input) { entry { delta balanceAfter } userErrors { field code } }
}
"""
PAY = """
mutation($input: PayWithStoredValueInput!) {
  payWithStoredValue(input: $input) {
    payment { tender status amount { amount } }
    userErrors { field code }
  }
}
"""
BALANCE = "query($m: ID!) { storedValue(memberId: $m) { balance recentEntries { delta reason } } }"


async def top_up(
    client: httpx.AsyncClient, token: str, member: object, amount: int, key: str
) -> dict[str, Any]:
    body = await gql(
        client,
        token,
        TOP_UP,
        {"input": {"idempotencyKey": key, "memberId": str(member), "amount": amount}},
    )
    payload: dict[str, Any] = body["data"]["topUpStoredValue"]
    return payload


async def pay(
    client: httpx.AsyncClient, token: str, order_id: object, member: object, amount: int
) -> dict[str, Any]:
    body = await gql(
        client,
        token,
        PAY,
        {
            "input": {
                "idempotencyKey": f"sv-{secrets.token_hex(5)}",
                "orderId": str(order_id),
                "memberId": str(member),
                "amount": amount,
            }
        },
    )
    payload: dict[str, Any] = body["data"]["payWithStoredValue"]
    return payload


async def test_a_top_up_counts_once_per_key(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    member = await register(tenant)
    first = await top_up(client, cashier, member, 5000, "card-1")
    again = await top_up(client, cashier, member, 5000, "card-1")
    assert first["entry"] == again["entry"] == {"delta": 5000, "balanceAfter": 5000}
    other = await top_up(client, cashier, member, 6000, "card-1")
    assert other["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    body = await gql(client, cashier, BALANCE, {"m": str(member)})
    assert body["data"]["storedValue"]["balance"] == 5000


async def test_stored_value_pays_an_order_and_a_refund_goes_back_to_it(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    manager = await tenant.token("store_manager")
    member = await register(tenant)
    await top_up(client, cashier, member, 10_000, "t1")
    order = await placed_order(tenant)
    paid = await pay(client, cashier, order.order_id, member, order.amount)
    assert paid["payment"] == {
        "tender": "STORED_VALUE",
        "status": "SUCCEEDED",
        "amount": {"amount": order.amount},
    }
    body = await gql(
        client,
        manager,
        """mutation($input: RefundPaymentInput!) {
          refundPayment(input: $input) { refunds { tender status } userErrors { code } } }""",
        {
            "input": {
                "idempotencyKey": "r",
                "orderId": str(order.order_id),
                "lines": [{"lineId": str(order.lines[0]), "amount": 300}],
            }
        },
    )
    assert body["data"]["refundPayment"]["refunds"] == [
        {"tender": "STORED_VALUE", "status": "SUCCEEDED"}
    ]
    body = await gql(client, cashier, BALANCE, {"m": str(member)})
    assert body["data"]["storedValue"]["balance"] == 10_000 - order.amount + 300
    reasons = [e["reason"] for e in body["data"]["storedValue"]["recentEntries"]]
    assert sorted(reasons) == ["paid an order", "refund", "top-up"]


async def test_concurrent_payments_never_overdraw_stored_value(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    member = await register(tenant)
    await top_up(client, cashier, member, 1000, "t")
    orders = [await placed_order(tenant) for _ in range(6)]
    results = await asyncio.gather(*(pay(client, cashier, o.order_id, member, 400) for o in orders))
    won = [r for r in results if r["payment"] is not None]
    assert len(won) == 2
    assert {r["userErrors"][0]["code"] for r in results if r["payment"] is None} == {
        "INSUFFICIENT_BALANCE"
    }
    body = await gql(client, cashier, BALANCE, {"m": str(member)})
    assert body["data"]["storedValue"]["balance"] == 200


async def test_more_than_the_balance_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    member = await register(tenant)
    await top_up(client, cashier, member, 100, "t")
    order = await placed_order(tenant)
    refused = await pay(client, cashier, order.order_id, member, 200)
    assert refused["userErrors"] == [{"field": ["input", "amount"], "code": "INSUFFICIENT_BALANCE"}]
