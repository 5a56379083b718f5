"""An order's payment through the API: tenders until captured, the order moved to PAID
in the same transaction, cancelled orders never keep money."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any

import httpx
import sqlalchemy as sa

from centers.order import api as order_api
from centers.payment import api as payment_api
from centers.points import api as points_api
from tests.centers.payment.arrange import Placed, placed_order, points_member
from tests.conftest import TenantFixture, gql

CASH = """
mutation($input: RecordCashPaymentInput!) {
  recordCashPayment(input: $input) {
    payment { id tender status amount { amount } }
    userErrors { field code }
  }
}
"""
POINTS = """
mutation($input: PayWithPointsInput!) {
  payWithPoints(input: $input) {
    payment { id tender status amount { amount } }
    userErrors { field code }
  }
}
"""
ORDER_PAYMENT = """
query($id: ID!) {
  orderPayment(orderId: $id) {
    status amount { amount } paidAmount refundedAmount
    tenders { tender status amount { amount } }
    refunds { tender amount { amount } reason status }
  }
}
"""


async def cash(
    client: httpx.AsyncClient, token: str, order: Placed, amount: int, key: str | None = None
) -> dict[str, Any]:
    body = await gql(
        client,
        token,
        CASH,
        {
            "input": {
                "idempotencyKey": key or f"cash-{secrets.token_hex(5)}",
                "orderId": str(order.order_id),
                "amount": amount,
            }
        },
    )
    result: dict[str, Any] = body["data"]["recordCashPayment"]
    return result


async def order_payment(client: httpx.AsyncClient, token: str, order: Placed) -> dict[str, Any]:
    body = await gql(client, token, ORDER_PAYMENT, {"id": str(order.order_id)})
    found: dict[str, Any] = body["data"]["orderPayment"]
    return found


async def order_status(tenant: TenantFixture, order_id: uuid.UUID) -> str:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        found = await order_api.get_order(session, tenant.id, order_id)
    assert found is not None
    return found.status


async def captured_events(tenant: TenantFixture) -> int:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        count = await session.scalar(
            sa.text(
                "SELECT count(*) FROM kernel.outbox_event "
                "WHERE tenant_id = :t AND topic = 'payment.captured'"
            ),
            {"t": tenant.id},
        )
    return int(count or 0)


async def test_cash_that_covers_the_order_captures_it_and_pays_the_order(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)
    assert (await cash(client, cashier, order, order.amount))["userErrors"] == []
    found = await order_payment(client, admin, order)
    assert found["status"] == "PAID"
    assert found["paidAmount"] == order.amount
    assert await order_status(tenant, order.order_id) == "PAID"
    assert await captured_events(tenant) == 1


async def test_points_and_cash_together_capture_once_both_are_in(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    order = await placed_order(tenant)
    member = await points_member(tenant, 1000)
    body = await gql(
        client,
        cashier,
        POINTS,
        {
            "input": {
                "idempotencyKey": "pts-1",
                "orderId": str(order.order_id),
                "memberId": str(member),
                "points": 500,
            }
        },
    )
    assert body["data"]["payWithPoints"]["payment"]["amount"]["amount"] == 500
    assert await order_status(tenant, order.order_id) != "PAID"
    await cash(client, cashier, order, order.amount - 500)
    assert await order_status(tenant, order.order_id) == "PAID"
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        assert await points_api.get_balance(session, tenant.id, member) == 500


async def test_cash_beyond_what_is_owed_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    order = await placed_order(tenant)
    result = await cash(client, cashier, order, order.amount + 1)
    assert result["userErrors"] == [{"field": ["input", "amount"], "code": "AMOUNT_EXCEEDS_DUE"}]


async def test_a_replayed_cash_payment_counts_once(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)
    first = await cash(client, cashier, order, 100, key="receipt-1")
    again = await cash(client, cashier, order, 100, key="receipt-1")
    assert again["payment"]["id"] == first["payment"]["id"]
    assert (await order_payment(client, admin, order))["paidAmount"] == 100


async def test_closing_an_unpaid_order_refunds_what_was_taken(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)
    await cash(client, cashier, order, 300)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        closed = await payment_api.close_payment(session, tenant.id, order.order_id)
    assert closed is not None and closed.status.value == "CLOSED"
    found = await order_payment(client, admin, order)
    assert found["refunds"] == [
        {
            "tender": "CASH",
            "amount": {"amount": 300},
            "reason": "ORDER_CLOSED",
            "status": "SUCCEEDED",
        }
    ]
    assert found["refundedAmount"] == 300
    later = await cash(client, cashier, order, 100)
    assert later["userErrors"][0]["code"] == "ORDER_CLOSED"


async def test_money_captured_for_an_order_cancelled_meanwhile_is_refunded_at_once(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await order_api.cancel_order(
            session,
            tenant.id,
            order.order_id,
            actor="user:buyer",
            own_only=False,
            reason="changed my mind",
        )
        still = await payment_api.get_order_payment(session, tenant.id, order.order_id)
    assert still is not None
    if still.status.value == "OPEN":
        # The order center refused the capture (the order is cancelled): the payment
        # closes and the cash goes straight back.
        await cash(client, cashier, order, order.amount)
    found = await order_payment(client, admin, order)
    assert found["status"] == "CLOSED"
    assert sum(r["amount"]["amount"] for r in found["refunds"]) == sum(
        t["amount"]["amount"] for t in found["tenders"] if t["status"] == "REFUNDED"
    )
    assert all(r["reason"] == "ORDER_CLOSED" for r in found["refunds"])
    assert await order_status(tenant, order.order_id) == "CANCELLED"
    assert await captured_events(tenant) == 0


async def test_another_tenant_cannot_see_or_pay_an_orders_payment(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    order = await placed_order(tenant)
    intruder = await other_tenant.token("tenant_admin")
    assert await order_payment(client, intruder, order) is None
    result = await cash(client, intruder, order, 100)
    # Without a payment of its own for that id, the other brand records loose cash only.
    assert result["payment"]["status"] == "SUCCEEDED"
    owner = await tenant.token("tenant_admin")
    assert (await order_payment(client, owner, order))["paidAmount"] == 0


async def test_points_as_a_tender_respect_the_brands_cap(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)  # 2800
    member = await points_member(tenant, 10_000)
    await gql(
        client,
        admin,
        """mutation { setPointsRules(input: {earnPoints: 1, earnPerAmount: 100,
          redeemUnitPoints: 100, redeemUnitValue: 100, redeemMaxBasisPoints: 5000}) {
          userErrors { code } } }""",
    )

    async def pay(points: int, key: str) -> dict[str, Any]:
        body = await gql(
            client,
            cashier,
            POINTS,
            {
                "input": {
                    "idempotencyKey": key,
                    "orderId": str(order.order_id),
                    "memberId": str(member),
                    "points": points,
                }
            },
        )
        result: dict[str, Any] = body["data"]["payWithPoints"]
        return result

    assert (await pay(1000, "a"))["userErrors"] == []
    over = await pay(500, "b")  # 1000 + 500 > 50% of 2800
    assert over["userErrors"] == [{"field": ["input", "points"], "code": "POINTS_CAP_EXCEEDED"}]
    assert (await pay(400, "c"))["userErrors"] == []


async def test_concurrent_tenders_never_pay_more_than_the_order_owes(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)  # 2800
    results = await asyncio.gather(*(cash(client, cashier, order, 1000) for _ in range(6)))
    accepted = [r for r in results if r["payment"] is not None]
    assert len(accepted) == 2
    assert {r["userErrors"][0]["code"] for r in results if r["payment"] is None} == {
        "AMOUNT_EXCEEDS_DUE"
    }
    found = await order_payment(client, admin, order)
    assert (found["status"], found["paidAmount"]) == ("OPEN", 2000)
