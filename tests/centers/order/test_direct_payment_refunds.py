"""A direct ``refundPayment`` counts on the order like an after-sale refund (decision
0080): the payment center emits ``payment.order_lines_refunded`` and the order center
counts the amounts on its lines in the same transaction, so the order's and the
payment's money views never disagree."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any

import httpx

from centers.order.dto import order_line_id
from tests.centers.order.test_after_sales import (
    AMOUNTS,
    _paid_order,
    _refunded_by_payment,
    _request,
)
from tests.conftest import TenantFixture, gql

REFUND = """
mutation($input: RefundPaymentInput!) {
  refundPayment(input: $input) {
    refunds { tender amount { amount } status }
    userErrors { field code }
  }
}
"""


async def _refund(
    client: httpx.AsyncClient,
    token: str,
    order_id: str,
    lines: dict[int, int],
    key: str | None = None,
) -> dict[str, Any]:
    body = await gql(
        client,
        token,
        REFUND,
        {
            "input": {
                "idempotencyKey": key or secrets.token_hex(6),
                "orderId": order_id,
                "lines": [
                    {"lineId": str(order_line_id(uuid.UUID(order_id), line_no)), "amount": v}
                    for line_no, v in lines.items()
                ],
            }
        },
    )
    if body.get("errors"):
        return body
    payload: dict[str, Any] = body["data"]["refundPayment"]
    return payload


async def _amounts(client: httpx.AsyncClient, token: str, order_id: str) -> dict[str, Any]:
    order: dict[str, Any] = (await gql(client, token, AMOUNTS, {"id": order_id}))["data"]["order"]
    return order


async def test_a_direct_refund_counts_on_the_order_and_its_lines(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    manager = await tenant.token("store_manager")
    buyer = await tenant.token("customer")
    _, order = await _paid_order(client, tenant, buyer, [2, 1])
    before = await _amounts(client, manager, order["id"])
    line2 = before["lines"][1]["payable"]["amount"]
    done = await _refund(client, manager, order["id"], {2: line2 - 100})
    assert done["userErrors"] == [], done
    after = await _amounts(client, manager, order["id"])
    assert after["refunded"]["amount"] == line2 - 100
    assert [line["refunded"]["amount"] for line in after["lines"]] == [0, line2 - 100]
    assert after["subOrders"][0]["refunded"]["amount"] == line2 - 100
    assert await _refunded_by_payment(tenant, order["id"]) == line2 - 100
    assert after["status"] == before["status"]  # goods still paid for: not closed


async def test_a_replayed_direct_refund_counts_once(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    manager = await tenant.token("store_manager")
    buyer = await tenant.token("customer")
    _, order = await _paid_order(client, tenant, buyer, [1, 1])
    for _ in range(2):
        assert (await _refund(client, manager, order["id"], {1: 300}, key="once"))[
            "userErrors"
        ] == []
    after = await _amounts(client, manager, order["id"])
    assert after["refunded"]["amount"] == 300
    assert await _refunded_by_payment(tenant, order["id"]) == 300


async def test_an_after_sale_cannot_promise_what_a_direct_refund_gave_back(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    manager = await tenant.token("store_manager")
    buyer = await tenant.token("customer")
    _, order = await _paid_order(client, tenant, buyer, [1, 1])
    line2 = (await _amounts(client, manager, order["id"]))["lines"][1]["payable"]["amount"]
    assert (await _refund(client, manager, order["id"], {2: line2}))["userErrors"] == []
    again = await _request(
        client, buyer, order["id"], "REFUND_ONLY", [{"lineNo": 2, "quantity": 1, "amount": 1}]
    )
    assert [e["code"] for e in again["userErrors"]] == ["REFUND_EXCEEDS_PAID"]


async def test_a_direct_refund_of_everything_closes_the_trade(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    manager = await tenant.token("store_manager")
    buyer = await tenant.token("customer")
    _, order = await _paid_order(client, tenant, buyer, [1, 1])
    lines = (await _amounts(client, manager, order["id"]))["lines"]
    everything = {line["lineNo"]: line["payable"]["amount"] for line in lines}
    assert (await _refund(client, manager, order["id"], everything))["userErrors"] == []
    after = await _amounts(client, manager, order["id"])
    assert after["status"] == "CLOSED"
    assert after["refunded"]["amount"] == order["total"]["amount"]


async def test_direct_and_after_sale_refunds_racing_keep_both_views_equal(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    manager = await tenant.token("store_manager")
    buyer = await tenant.token("customer")
    _, order = await _paid_order(client, tenant, buyer, [1, 1])
    line1 = (await _amounts(client, manager, order["id"]))["lines"][0]["payable"]["amount"]
    results = await asyncio.gather(
        _refund(client, manager, order["id"], {1: line1}),
        _refund(client, manager, order["id"], {1: line1}),
        _request(client, manager, order["id"], "OUT_OF_STOCK", [{"lineNo": 1, "quantity": 1}]),
    )
    # Exactly one of them (the after-sale refunds at once) gives the money back.
    succeeded = [r for r in results if not r.get("errors") and r["userErrors"] == []]
    assert len(succeeded) == 1, results
    after = await _amounts(client, manager, order["id"])
    assert after["lines"][0]["refunded"]["amount"] == line1
    assert after["refunded"]["amount"] == line1
    assert await _refunded_by_payment(tenant, order["id"]) == line1


async def test_a_direct_refund_on_another_tenants_order_is_not_found(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    buyer = await tenant.token("customer")
    _, order = await _paid_order(client, tenant, buyer, [1])
    stranger = await other_tenant.token("store_manager")
    refused = await _refund(client, stranger, order["id"], {1: 100})
    assert [e["code"] for e in refused["userErrors"]] == ["PAYMENT_NOT_FOUND"]
    mine = await _amounts(client, await tenant.token("store_manager"), order["id"])
    assert mine["refunded"]["amount"] == 0
