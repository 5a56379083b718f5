"""Refunds to the original tenders by line: never more than a tender paid on a line,
whatever the sequence of partial refunds (property-tested), and through the API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from centers.payment.allocation import paid_cells, split_refund
from kernel.errors import UserInputError
from tests.centers.payment.arrange import placed_order, points_member
from tests.centers.payment.test_order_payment import POINTS, cash, order_payment
from tests.conftest import TenantFixture, gql

REFUND = """
mutation($input: RefundPaymentInput!) {
  refundPayment(input: $input) {
    refunds { tender amount { amount } status lines { lineId amount } }
    userErrors { field code }
  }
}
"""
RECONCILE = """
query($store: ID!, $day: Date!) {
  paymentReconciliation(storeId: $store, day: $day) {
    tender payments paid refunds refunded net currency
  }
}
"""

LINES = [uuid.UUID(int=i + 1) for i in range(4)]
TENDERS = [uuid.UUID(int=100 + i) for i in range(3)]


@st.composite
def paid_orders(draw: st.DrawFn) -> tuple[list[tuple[uuid.UUID, int]], list[tuple[uuid.UUID, int]]]:
    amounts = draw(st.lists(st.integers(0, 20_000), min_size=1, max_size=4))
    total = sum(amounts)
    cuts = sorted(draw(st.lists(st.integers(0, total), max_size=2)))
    bounds = [0, *cuts, total]
    tender_amounts = [b - a for a, b in pairwise(bounds)]
    return (
        list(zip(LINES, amounts, strict=False)),
        [(t, a) for t, a in zip(TENDERS, tender_amounts, strict=False) if a > 0],
    )


@settings(max_examples=50, deadline=None)
@given(paid_orders(), st.lists(st.tuples(st.integers(0, 3), st.integers(1, 25_000)), max_size=8))
def test_refunds_never_exceed_what_was_paid_per_line_and_tender(
    order: tuple[list[tuple[uuid.UUID, int]], list[tuple[uuid.UUID, int]]],
    requests: list[tuple[int, int]],
) -> None:
    lines, tenders = order
    paid = paid_cells(lines, tenders)
    # The paid cells lay the tenders exactly over the lines.
    for line_id, amount in lines:
        assert sum(v for (line, _), v in paid.items() if line == line_id) == amount
    for tender_id, amount in tenders:
        assert sum(v for (_, t), v in paid.items() if t == tender_id) == amount
    refunded: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    for line_index, amount in requests:
        line_id = LINES[line_index]
        room = sum(paid.get((line_id, t), 0) - refunded.get((line_id, t), 0) for t, _ in tenders)
        try:
            cells = split_refund({line_id: amount}, paid, refunded, [t for t, _ in tenders])
        except UserInputError as error:
            assert error.code == "REFUND_EXCEEDS_PAID"
            assert amount > room
            continue
        assert sum(cells.values()) == amount
        for cell, part in cells.items():
            refunded[cell] = refunded.get(cell, 0) + part
            assert refunded[cell] <= paid[cell]


async def refund(
    client: httpx.AsyncClient,
    token: str,
    order_id: uuid.UUID,
    key: str,
    lines: dict[uuid.UUID, int],
) -> dict[str, Any]:
    body = await gql(
        client,
        token,
        REFUND,
        {
            "input": {
                "idempotencyKey": key,
                "orderId": str(order_id),
                "lines": [{"lineId": str(k), "amount": v} for k, v in lines.items()],
            }
        },
    )
    payload: dict[str, Any] = body["data"]["refundPayment"]
    return payload


async def test_a_line_refund_goes_back_to_each_tender_in_proportion(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    manager = await tenant.token("store_manager")
    order = await placed_order(tenant, quantities=(1, 1))  # 1200 + 800
    member = await points_member(tenant, 1000)
    await gql(
        client,
        cashier,
        POINTS,
        {
            "input": {
                "idempotencyKey": "p1",
                "orderId": str(order.order_id),
                "memberId": str(member),
                "points": 1000,
            }
        },
    )
    await cash(client, cashier, order, order.amount - 1000)
    first_line = order.lines[0]
    payload = await refund(client, manager, order.order_id, "r1", {first_line: 400})
    assert payload["userErrors"] == []
    by_tender = {r["tender"]: r["amount"]["amount"] for r in payload["refunds"]}
    assert sum(by_tender.values()) == 400
    assert set(by_tender) <= {"POINTS", "CASH"}
    assert all(r["status"] == "SUCCEEDED" for r in payload["refunds"])


async def test_refunding_more_than_a_line_paid_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    manager = await tenant.token("store_manager")
    order = await placed_order(tenant, quantities=(1, 1))
    await cash(client, cashier, order, order.amount)
    line = order.lines[0]
    paid_on_line = (await order_payment(client, manager, order))["paidAmount"]
    assert paid_on_line == order.amount
    ok = await refund(client, manager, order.order_id, "a", {line: 500})
    assert ok["userErrors"] == []
    found = await order_payment(client, manager, order)
    line_amount = next(
        line_entry["amount"]
        for line_entry in (
            await gql(
                client,
                manager,
                "query($id: ID!) { orderPayment(orderId: $id) { lines { lineId amount } } }",
                {"id": str(order.order_id)},
            )
        )["data"]["orderPayment"]["lines"]
        if line_entry["lineId"] == str(line)
    )
    too_much = await refund(client, manager, order.order_id, "b", {line: line_amount - 500 + 1})
    assert too_much["userErrors"][0]["code"] == "REFUND_EXCEEDS_PAID"
    assert (await order_payment(client, manager, order))["refundedAmount"] == found[
        "refundedAmount"
    ]
    rest = await refund(client, manager, order.order_id, "c", {line: line_amount - 500})
    assert rest["userErrors"] == []


async def test_a_replayed_refund_returns_the_first_and_refunds_once(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    manager = await tenant.token("store_manager")
    order = await placed_order(tenant)
    await cash(client, cashier, order, order.amount)
    first = await refund(client, manager, order.order_id, "same", {order.lines[0]: 100})
    again = await refund(client, manager, order.order_id, "same", {order.lines[0]: 100})
    assert again["refunds"] == first["refunds"]
    assert (await order_payment(client, manager, order))["refundedAmount"] == 100
    reused = await refund(client, manager, order.order_id, "same", {order.lines[0]: 200})
    assert reused["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_an_unpaid_order_cannot_be_refunded(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    manager = await tenant.token("store_manager")
    order = await placed_order(tenant)
    result = await refund(client, manager, order.order_id, "x", {order.lines[0]: 1})
    assert result["userErrors"][0]["code"] == "NOT_REFUNDABLE"


async def test_a_cashier_cannot_refund(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    cashier = await tenant.token("cashier")
    order = await placed_order(tenant)
    body = await gql(
        client,
        cashier,
        REFUND,
        {
            "input": {
                "idempotencyKey": "x",
                "orderId": str(order.order_id),
                "lines": [{"lineId": str(order.lines[0]), "amount": 1}],
            }
        },
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_daily_reconciliation_sums_each_tender_of_the_store(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    manager = await tenant.token("store_manager")
    order = await placed_order(tenant)
    member = await points_member(tenant, 500)
    await gql(
        client,
        cashier,
        POINTS,
        {
            "input": {
                "idempotencyKey": "p",
                "orderId": str(order.order_id),
                "memberId": str(member),
                "points": 500,
            }
        },
    )
    await cash(client, cashier, order, order.amount - 500)
    await refund(client, manager, order.order_id, "r", {order.lines[0]: 300})
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    body = await gql(client, manager, RECONCILE, {"store": str(order.store_id), "day": str(today)})
    rows = {r["tender"]: r for r in body["data"]["paymentReconciliation"]}
    assert rows["CASH"]["paid"] == order.amount - 500
    assert rows["POINTS"]["paid"] == 500
    assert rows["CASH"]["refunded"] + rows["POINTS"]["refunded"] == 300
    assert all(r["net"] == r["paid"] - r["refunded"] for r in rows.values())
    yesterday = date.fromordinal(today.toordinal() - 1)
    body = await gql(
        client, manager, RECONCILE, {"store": str(order.store_id), "day": str(yesterday)}
    )
    assert body["data"]["paymentReconciliation"] == []


async def test_reconciliation_of_an_unknown_or_foreign_store_is_not_found(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    order = await placed_order(tenant)
    intruder = await other_tenant.token("tenant_admin")
    for store in (str(order.store_id), str(uuid.uuid4()), "not-an-id"):
        body = await gql(client, intruder, RECONCILE, {"store": store, "day": "2030-01-01"})
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
