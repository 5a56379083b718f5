"""Roles held at one store (kernel.authz.stores) through the payment API: a cashier or
store manager held at store A takes, reads, refunds and reconciles store A's payments;
store B's, and ids that are not found, answer FORBIDDEN; member-level stored value
stays tenant-only; tenant-wide roles reach every store as before."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.centers.payment.arrange import Placed, placed_order, points_member
from tests.centers.payment.test_order_payment import CASH, ORDER_PAYMENT, POINTS
from tests.centers.payment.test_refunds import RECONCILE, REFUND
from tests.centers.payment.test_stored_value import BALANCE, PAY, TOP_UP, top_up
from tests.centers.promotion.arrange import register
from tests.conftest import TenantFixture, gql

PAYMENT = "query($id: ID!) { payment(id: $id) { id tender amount { amount } order { id } } }"
START = """
mutation($input: StartOnlinePaymentInput!) {
  startOnlinePayment(input: $input) { payment { id } userErrors { code } }
}
"""


def forbidden(body: dict[str, Any]) -> bool:
    return bool(body.get("errors")) and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def cash_input(order_id: uuid.UUID | str, amount: int) -> dict[str, Any]:
    return {
        "input": {
            "idempotencyKey": f"cash-{secrets.token_hex(5)}",
            "orderId": str(order_id),
            "amount": amount,
        }
    }


async def record_cash(
    client: httpx.AsyncClient, token: str, order_id: uuid.UUID | str, amount: int
) -> dict[str, Any]:
    return await gql(client, token, CASH, cash_input(order_id, amount))


async def two_stores(tenant: TenantFixture) -> tuple[Placed, Placed]:
    """An order at each of two stores of one tenant (each ``placed_order`` opens a store)."""
    at_a, at_b = await placed_order(tenant), await placed_order(tenant)
    assert at_a.store_id != at_b.store_id
    return at_a, at_b


async def paid_amount(client: httpx.AsyncClient, token: str, order: Placed) -> int:
    body = await gql(client, token, ORDER_PAYMENT, {"id": str(order.order_id)})
    paid: int = body["data"]["orderPayment"]["paidAmount"]
    return paid


async def test_a_cashier_held_at_a_store_takes_and_reads_that_stores_payments_only(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    a, b = await two_stores(tenant)
    cashier_a = await tenant.store_token("cashier", a.store_id)
    everywhere = await tenant.token("cashier")

    body = await record_cash(client, cashier_a, a.order_id, a.amount)
    payload = body["data"]["recordCashPayment"]
    assert payload["userErrors"] == []
    assert payload["payment"]["status"] == "SUCCEEDED"
    payment_a = payload["payment"]["id"]
    body = await gql(client, cashier_a, PAYMENT, {"id": payment_a})
    assert body["data"]["payment"] == {
        "id": payment_a,
        "tender": "CASH",
        "amount": {"amount": a.amount},
        "order": {"id": str(a.order_id)},
    }
    body = await gql(client, cashier_a, ORDER_PAYMENT, {"id": str(a.order_id)})
    assert body["data"]["orderPayment"]["status"] == "PAID"

    # Store B's order: refused before anything is written.
    assert forbidden(await record_cash(client, cashier_a, b.order_id, b.amount))
    assert await paid_amount(client, everywhere, b) == 0
    # Store B's payment and order payment are not readable either.
    body = await record_cash(client, everywhere, b.order_id, b.amount)
    payment_b = body["data"]["recordCashPayment"]["payment"]["id"]
    assert forbidden(await gql(client, cashier_a, PAYMENT, {"id": payment_b}))
    assert forbidden(await gql(client, cashier_a, ORDER_PAYMENT, {"id": str(b.order_id)}))


async def test_not_found_ids_answer_forbidden_to_a_store_held_caller_only(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    a, _ = await two_stores(tenant)
    cashier_a = await tenant.store_token("cashier", a.store_id)
    everywhere = await tenant.token("cashier")
    unknown = str(uuid.uuid4())

    # Existence is not revealed: the same answer another store's resource gets.
    for token_body in (
        await gql(client, cashier_a, PAYMENT, {"id": unknown}),
        await gql(client, cashier_a, PAYMENT, {"id": "not-an-id"}),
        await gql(client, cashier_a, ORDER_PAYMENT, {"id": unknown}),
        await record_cash(client, cashier_a, unknown, 100),
    ):
        assert forbidden(token_body)
    # A tenant-wide cashier never goes through the lookup: null, and cash for an order
    # this center has no payment record of is still recorded as before.
    assert (await gql(client, everywhere, PAYMENT, {"id": unknown}))["data"]["payment"] is None
    body = await gql(client, everywhere, ORDER_PAYMENT, {"id": unknown})
    assert body["data"]["orderPayment"] is None
    body = await record_cash(client, everywhere, unknown, 100)
    assert body["data"]["recordCashPayment"]["userErrors"] == []


async def test_a_store_manager_held_at_a_store_refunds_and_reconciles_there_only(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    a, b = await two_stores(tenant)
    manager_a = await tenant.store_token("store_manager", a.store_id)
    everywhere = await tenant.token("cashier")
    for order in (a, b):
        body = await record_cash(client, everywhere, order.order_id, order.amount)
        assert body["data"]["recordCashPayment"]["userErrors"] == []

    def refund_input(order: Placed) -> dict[str, Any]:
        return {
            "input": {
                "idempotencyKey": f"r-{secrets.token_hex(4)}",
                "orderId": str(order.order_id),
                "lines": [{"lineId": str(order.lines[0]), "amount": 300}],
            }
        }

    body = await gql(client, manager_a, REFUND, refund_input(a))
    assert body["data"]["refundPayment"]["userErrors"] == []
    assert [r["amount"]["amount"] for r in body["data"]["refundPayment"]["refunds"]] == [300]
    assert forbidden(await gql(client, manager_a, REFUND, refund_input(b)))

    today = str(datetime.now(ZoneInfo("Asia/Shanghai")).date())
    body = await gql(client, manager_a, RECONCILE, {"store": str(a.store_id), "day": today})
    rows = {r["tender"]: r for r in body["data"]["paymentReconciliation"]}
    assert rows["CASH"]["paid"] == a.amount
    assert rows["CASH"]["refunded"] == 300
    for store in (str(b.store_id), str(uuid.uuid4()), "not-an-id"):
        body = await gql(client, manager_a, RECONCILE, {"store": store, "day": today})
        assert forbidden(body), store


async def test_a_cashier_held_at_a_store_gets_no_more_than_the_cashier_role_there(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    a, _ = await two_stores(tenant)
    cashier_a = await tenant.store_token("cashier", a.store_id)
    everywhere = await tenant.token("cashier")
    await record_cash(client, everywhere, a.order_id, a.amount)
    today = str(datetime.now(ZoneInfo("Asia/Shanghai")).date())
    body = await gql(client, cashier_a, RECONCILE, {"store": str(a.store_id), "day": today})
    assert forbidden(body)
    refund = {
        "input": {
            "idempotencyKey": "r",
            "orderId": str(a.order_id),
            "lines": [{"lineId": str(a.lines[0]), "amount": 1}],
        }
    }
    assert forbidden(await gql(client, cashier_a, REFUND, refund))


async def test_points_stored_value_and_online_payments_follow_the_orders_store(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    a, b = await two_stores(tenant)
    cashier_a = await tenant.store_token("cashier", a.store_id)
    everywhere = await tenant.token("cashier")
    member = await points_member(tenant, 500)

    def points_input(order: Placed) -> dict[str, Any]:
        return {
            "input": {
                "idempotencyKey": f"p-{secrets.token_hex(4)}",
                "orderId": str(order.order_id),
                "memberId": str(member),
                "points": 100,
            }
        }

    body = await gql(client, cashier_a, POINTS, points_input(a))
    assert body["data"]["payWithPoints"]["userErrors"] == []
    assert body["data"]["payWithPoints"]["payment"]["amount"] == {"amount": 100}
    assert forbidden(await gql(client, cashier_a, POINTS, points_input(b)))

    # Stored value is the member's, not a store's: reading and topping it up stay
    # tenant-only, while spending it on store A's order is store A's business.
    holder = await register(tenant)
    assert forbidden(await gql(client, cashier_a, BALANCE, {"m": str(holder)}))
    top_up_input = {"input": {"idempotencyKey": "t", "memberId": str(holder), "amount": 5000}}
    assert forbidden(await gql(client, cashier_a, TOP_UP, top_up_input))
    await top_up(client, everywhere, holder, 5000, "t")

    def stored_value_input(order: Placed) -> dict[str, Any]:
        return {
            "input": {
                "idempotencyKey": f"sv-{secrets.token_hex(4)}",
                "orderId": str(order.order_id),
                "memberId": str(holder),
                "amount": 200,
            }
        }

    body = await gql(client, cashier_a, PAY, stored_value_input(a))
    assert body["data"]["payWithStoredValue"]["userErrors"] == []
    assert body["data"]["payWithStoredValue"]["payment"]["tender"] == "STORED_VALUE"
    assert forbidden(await gql(client, cashier_a, PAY, stored_value_input(b)))
    assert await paid_amount(client, everywhere, a) == 300
    assert await paid_amount(client, everywhere, b) == 0

    # Past the guard at store A the flow itself answers (no provider configured here);
    # at store B the guard refuses first.
    def start_input(order: Placed) -> dict[str, Any]:
        return {"input": {"orderId": str(order.order_id), "provider": "sandbox"}}

    body = await gql(client, cashier_a, START, start_input(a))
    assert body["data"]["startOnlinePayment"]["userErrors"][0]["code"] == (
        "PROVIDER_NOT_CONFIGURED"
    )
    assert forbidden(await gql(client, cashier_a, START, start_input(b)))


async def test_a_tenant_wide_cashier_still_works_at_every_store(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    a, b = await two_stores(tenant)
    everywhere = await tenant.token("cashier")
    for order in (a, b):
        body = await record_cash(client, everywhere, order.order_id, order.amount)
        payment = body["data"]["recordCashPayment"]["payment"]
        assert payment["status"] == "SUCCEEDED"
        body = await gql(client, everywhere, PAYMENT, {"id": payment["id"]})
        assert body["data"]["payment"]["order"] == {"id": str(order.order_id)}
        body = await gql(client, everywhere, ORDER_PAYMENT, {"id": str(order.order_id)})
        assert body["data"]["orderPayment"]["status"] == "PAID"
