"""After-sale (售后): refund only, return and refund, out of stock, arbitration. Money
goes back by line through the payment center, never more than a line was paid."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any

import httpx

from centers.payment import api as payment_api
from tests.builders import open_shop
from tests.centers.order.flows import fire, place, read
from tests.centers.order.test_payment_flow import _cash
from tests.centers.order.test_place_order import stock_of
from tests.centers.promotion.arrange import live_activity
from tests.conftest import TenantFixture, gql

AFTER_SALE = "id kind status amount { amount } lines { lineNo quantity amount { amount } } availableEvents statusViews { buyer merchant erp }"
REQUEST = f"""
mutation($input: RequestAfterSaleInput!) {{
  requestAfterSale(input: $input) {{ afterSale {{ {AFTER_SALE} }} replayed userErrors {{ field code message }} }}
}}
"""
MOVE = f"""
mutation($input: TransitionAfterSaleInput!) {{
  transitionAfterSale(input: $input) {{ afterSale {{ {AFTER_SALE} }} userErrors {{ field code }} }}
}}
"""
AMOUNTS = """
query($id: ID!) { order(id: $id) {
  status paid { amount } refunded { amount }
  lines { lineNo payable { amount } refunded { amount } }
  subOrders { refunded { amount } }
  afterSales { id status }
  history { event reason }
} }
"""


async def _request(
    client: httpx.AsyncClient,
    token: str,
    order_id: str,
    kind: str,
    lines: list[dict[str, int]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    variables = {
        "input": {
            "idempotencyKey": extra.pop("key", secrets.token_hex(6)),
            "orderId": order_id,
            "kind": kind,
            "lines": lines,
            "reason": extra.pop("reason", "not as described"),
        }
    }
    body = await gql(client, token, REQUEST, variables)
    if body.get("errors"):
        return body
    payload: dict[str, Any] = body["data"]["requestAfterSale"]
    return payload


async def _move(
    client: httpx.AsyncClient, token: str, after_sale_id: str, event: str
) -> dict[str, Any]:
    body = await gql(client, token, MOVE, {"input": {"refundId": after_sale_id, "event": event}})
    if body.get("errors"):
        return body
    payload: dict[str, Any] = body["data"]["transitionAfterSale"]
    return payload


async def _paid_order(
    client: httpx.AsyncClient, tenant: TenantFixture, buyer: str, quantities: list[int]
) -> tuple[Any, dict[str, Any]]:
    shop = await open_shop(tenant)
    order = await place(client, buyer, shop, quantities)
    assert await _cash(tenant, order["id"], order["total"]["amount"]) == "TAKEN"
    return shop, order


async def _refunded_by_payment(tenant: TenantFixture, order_id: str) -> int:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        found = await payment_api.refunds_of_order(session, tenant.id, uuid.UUID(order_id))
    return sum(r.amount.amount for r in found)


async def test_a_partial_refund_gives_back_only_that_lines_allocated_amount(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    await live_activity(
        client, admin, "SPEND_AND_SAVE", {"tiers": [{"threshold": 3000, "discount": 500}]}
    )
    buyer = await tenant.token("customer")
    _, order = await _paid_order(client, tenant, buyer, [2, 1])  # 2400 + 800, 500 off
    before = (await gql(client, buyer, AMOUNTS, {"id": order["id"]}))["data"]["order"]
    line2_payable = before["lines"][1]["payable"]["amount"]
    assert line2_payable == 800 - 125  # the promotion stays allocated as it was
    asked = await _request(
        client, buyer, order["id"], "REFUND_ONLY", [{"lineNo": 2, "quantity": 1}]
    )
    assert asked["userErrors"] == [], asked
    assert asked["afterSale"]["amount"]["amount"] == line2_payable
    assert asked["afterSale"]["availableEvents"] == ["WITHDRAW"]
    done = await _move(client, admin, asked["afterSale"]["id"], "APPROVE")
    assert done["afterSale"]["status"] == "REFUNDED"
    after = (await gql(client, buyer, AMOUNTS, {"id": order["id"]}))["data"]["order"]
    assert after["refunded"]["amount"] == line2_payable
    assert [line["refunded"]["amount"] for line in after["lines"]] == [0, line2_payable]
    assert after["subOrders"][0]["refunded"]["amount"] == line2_payable
    assert await _refunded_by_payment(tenant, order["id"]) == line2_payable
    again = await _request(
        client, buyer, order["id"], "REFUND_ONLY", [{"lineNo": 2, "quantity": 1, "amount": 1}]
    )
    assert [e["code"] for e in again["userErrors"]] == ["REFUND_EXCEEDS_PAID"]
    assert [h["event"] for h in after["history"]][-2:] == ["REFUND_REQUEST", "REFUND_APPROVE"]


async def test_asking_again_for_all_that_is_left_of_a_refunded_line_is_nothing_to_refund(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    """A line's amount left out means "all that is left": once the line is refunded,
    nothing is, and the answer names that (``NOTHING_TO_REFUND``, docs/orders.md), not
    an amount the caller never typed (``INVALID_AMOUNT``). A typed 0 stays INVALID_AMOUNT."""
    admin = await tenant.token("tenant_admin")
    buyer = await tenant.token("customer")
    _, order = await _paid_order(client, tenant, buyer, [1, 1])
    line = [{"lineNo": 2, "quantity": 1}]
    first = await _request(client, buyer, order["id"], "REFUND_ONLY", line)
    assert first["userErrors"] == [], first
    pending = await _request(client, buyer, order["id"], "REFUND_ONLY", line)
    assert [(e["code"], e["field"]) for e in pending["userErrors"]] == [
        ("NOTHING_TO_REFUND", ["input", "lines", "0", "lineNo"])
    ]  # claimed by the open request
    done = await _move(client, admin, first["afterSale"]["id"], "APPROVE")
    assert done["afterSale"]["status"] == "REFUNDED"
    again = await _request(client, buyer, order["id"], "REFUND_ONLY", line)
    assert [(e["code"], e["field"]) for e in again["userErrors"]] == [
        ("NOTHING_TO_REFUND", ["input", "lines", "0", "lineNo"])
    ]
    assert again["afterSale"] is None
    zero = await _request(
        client, buyer, order["id"], "REFUND_ONLY", [{"lineNo": 1, "quantity": 1, "amount": 0}]
    )
    assert [e["code"] for e in zero["userErrors"]] == ["INVALID_AMOUNT"]


async def test_concurrent_whole_refund_requests_never_promise_more_than_was_paid(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    buyer = await tenant.token("customer")
    _, order = await _paid_order(client, tenant, buyer, [1, 1])
    results = await asyncio.gather(
        *(_request(client, buyer, order["id"], "REFUND_ONLY") for _ in range(4))
    )
    accepted = [r for r in results if r["userErrors"] == []]
    assert len(accepted) == 1
    assert accepted[0]["afterSale"]["amount"]["amount"] == order["total"]["amount"]
    assert {e["code"] for r in results if r["userErrors"] for e in r["userErrors"]} == {
        "NOTHING_TO_REFUND"
    }


async def test_return_and_refund_pays_back_after_inspection_and_restocks(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    staff = await tenant.token("store_manager")
    buyer = await tenant.token("customer")
    shop, order = await _paid_order(client, tenant, buyer, [3])
    await fire(client, staff, order["id"], "SHIP")
    await fire(client, buyer, order["id"], "RECEIVE")
    assert (await stock_of(client, staff, shop))["onHand"] == 97
    asked = await _request(
        client,
        buyer,
        order["id"],
        "RETURN_AND_REFUND",
        [{"lineNo": 1, "quantity": 1, "amount": 1200}],
    )
    approved = await _move(client, staff, asked["afterSale"]["id"], "APPROVE")
    assert approved["afterSale"]["status"] == "AWAITING_RETURN"
    assert approved["afterSale"]["statusViews"]["buyer"] == "SEND_IT_BACK"
    assert await _refunded_by_payment(tenant, order["id"]) == 0  # not before the goods are back
    received = await _move(client, staff, asked["afterSale"]["id"], "RECEIVE_RETURN")
    assert received["afterSale"]["status"] == "REFUNDED"
    assert await _refunded_by_payment(tenant, order["id"]) == 1200
    assert (await stock_of(client, staff, shop))["onHand"] == 98


async def test_out_of_stock_is_the_stores_and_refunds_at_once(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    staff = await tenant.token("cashier")
    buyer = await tenant.token("customer")
    _, order = await _paid_order(client, tenant, buyer, [1, 2])
    refused = await _request(client, buyer, order["id"], "OUT_OF_STOCK")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    short = await _request(
        client, staff, order["id"], "OUT_OF_STOCK", [{"lineNo": 2, "quantity": 2}]
    )
    assert short["afterSale"]["status"] == "REFUNDED"
    assert await _refunded_by_payment(tenant, order["id"]) == 1600


async def test_a_rejected_request_can_go_to_arbitration(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    staff = await tenant.token("store_manager")
    buyer = await tenant.token("customer")
    _, order = await _paid_order(client, tenant, buyer, [1])
    asked = await _request(client, buyer, order["id"], "REFUND_ONLY")
    after_sale = asked["afterSale"]["id"]
    assert (await _move(client, buyer, after_sale, "APPROVE"))["errors"][0]["extensions"][
        "code"
    ] == "FORBIDDEN"
    assert (await _move(client, staff, after_sale, "REJECT"))["afterSale"]["status"] == "REJECTED"
    escalated = await _move(client, buyer, after_sale, "ESCALATE")
    assert escalated["afterSale"]["status"] == "ARBITRATION"
    decided = await _move(client, staff, after_sale, "APPROVE")
    assert decided["afterSale"]["status"] == "REFUNDED"
    late = await _move(client, buyer, after_sale, "WITHDRAW")
    assert [e["code"] for e in late["userErrors"]] == ["INVALID_TRANSITION"]


async def test_an_unpaid_or_foreign_order_cannot_be_refunded(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    buyer = await tenant.token("customer")
    other = await tenant.token("customer")
    unpaid = await place(client, buyer, shop, [1])
    refused = await _request(client, buyer, unpaid["id"], "REFUND_ONLY")
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_REFUNDABLE"]
    _, paid = await _paid_order(client, tenant, buyer, [1])
    stolen = await _request(client, other, paid["id"], "REFUND_ONLY")
    assert [e["code"] for e in stolen["userErrors"]] == ["ORDER_NOT_FOUND"]
    found = await read(client, buyer, paid["id"])
    assert found is not None and found["refunded"]["amount"] == 0


async def test_an_exchange_takes_the_goods_back_and_sends_the_same_out_again(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    staff = await tenant.token("store_manager")
    buyer = await tenant.token("customer")
    shop, order = await _paid_order(client, tenant, buyer, [2])
    twice = await _request(
        client, buyer, order["id"], "EXCHANGE", [{"lineNo": 1, "quantity": 1}] * 2
    )
    assert [e["code"] for e in twice["userErrors"]] == ["LINE_NOT_FOUND"]
    asked = await _request(client, buyer, order["id"], "EXCHANGE", [{"lineNo": 1, "quantity": 1}])
    assert asked["afterSale"]["amount"]["amount"] == 0
    await _move(client, staff, asked["afterSale"]["id"], "APPROVE")
    before = await stock_of(client, staff, shop)
    done = await _move(client, staff, asked["afterSale"]["id"], "RECEIVE_RETURN")
    assert done["afterSale"]["status"] == "EXCHANGED"
    # One unit back on the shelf, one unit out again: on hand unchanged, no money moved.
    assert await stock_of(client, staff, shop) == before
    assert await _refunded_by_payment(tenant, order["id"]) == 0


async def test_a_replayed_request_opens_one_after_sale(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    buyer = await tenant.token("customer")
    _, order = await _paid_order(client, tenant, buyer, [1])
    first = await _request(client, buyer, order["id"], "REFUND_ONLY", key="app-refund-1")
    again = await _request(client, buyer, order["id"], "REFUND_ONLY", key="app-refund-1")
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["afterSale"]["id"] == first["afterSale"]["id"]
    found = (await gql(client, buyer, AMOUNTS, {"id": order["id"]}))["data"]["order"]
    assert [a["id"] for a in found["afterSales"]] == [first["afterSale"]["id"]]


async def test_another_tenant_can_neither_see_nor_request_after_sales(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    buyer = await tenant.token("customer")
    _, order = await _paid_order(client, tenant, buyer, [1])
    mine = await _request(client, buyer, order["id"], "REFUND_ONLY")
    outsider = await other_tenant.token("tenant_admin")
    queue = await gql(client, outsider, "{ afterSales(first: 10) { edges { node { id } } } }")
    assert queue["data"]["afterSales"]["edges"] == []
    refused = await _request(client, outsider, order["id"], "OUT_OF_STOCK")
    assert [e["code"] for e in refused["userErrors"]] == ["ORDER_NOT_FOUND"]
    moved = await _move(client, outsider, mine["afterSale"]["id"], "APPROVE")
    assert [e["code"] for e in moved["userErrors"]] == ["REFUND_NOT_FOUND"]


async def test_refunding_everything_closes_the_order(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    staff = await tenant.token("cashier")
    buyer = await tenant.token("customer")
    _, order = await _paid_order(client, tenant, buyer, [1, 2])
    partly = await _request(
        client, staff, order["id"], "OUT_OF_STOCK", [{"lineNo": 1, "quantity": 1}]
    )
    assert partly["afterSale"]["status"] == "REFUNDED"
    assert (await read(client, buyer, order["id"]) or {})["status"] == "PAID"
    rest = await _request(client, staff, order["id"], "OUT_OF_STOCK")
    assert rest["afterSale"]["amount"]["amount"] == 1600
    closed = await read(client, buyer, order["id"])
    assert closed is not None and closed["status"] == "CLOSED"
    assert closed["statusViews"] == {"buyer": "REFUNDED", "merchant": "CLOSED", "erp": "CLOSED"}
    assert closed["refunded"]["amount"] == closed["paid"]["amount"] == 2800
    closing = [h for h in closed["history"] if h["event"] == "CLOSE"]
    assert len(closing) == 1 and "fully refunded" in closing[0]["reason"]
