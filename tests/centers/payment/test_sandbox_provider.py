"""Online payments against the sandbox provider over real HTTP on loopback: the provider
emulator calls our app back with signed, duplicated and out-of-order notifications."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import httpx
import sqlalchemy as sa

from centers.payment import api as payment_api
from kernel.app import Runtime
from plugins.payment.sandbox import signed_headers
from tests.centers.payment.arrange import Placed, placed_order, sandbox
from tests.conftest import TenantFixture, gql

START = """
mutation($input: StartOnlinePaymentInput!) {
  startOnlinePayment(input: $input) {
    payment { id status providerReference amount { amount } }
    clientParameters { key value }
    userErrors { field code }
  }
}
"""
ORDER_PAYMENT = """
query($id: ID!) {
  orderPayment(orderId: $id) {
    status paidAmount refundedAmount
    tenders { id tender status amount { amount } }
    refunds { id amount { amount } status reason lines { lineId amount } }
  }
}
"""
REFUND = """
mutation($input: RefundPaymentInput!) {
  refundPayment(input: $input) {
    refunds { id tender amount { amount } status }
    userErrors { field code }
  }
}
"""


async def start(client: httpx.AsyncClient, token: str, order: Placed) -> dict[str, Any]:
    body = await gql(
        client, token, START, {"input": {"orderId": str(order.order_id), "provider": "sandbox"}}
    )
    payload: dict[str, Any] = body["data"]["startOnlinePayment"]
    assert payload["userErrors"] == [], payload
    return payload


async def state(client: httpx.AsyncClient, token: str, order: Placed) -> dict[str, Any]:
    body = await gql(client, token, ORDER_PAYMENT, {"id": str(order.order_id)})
    found: dict[str, Any] = body["data"]["orderPayment"]
    return found


async def count(tenant: TenantFixture, sql: str) -> int:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        value = await session.scalar(sa.text(sql), {"t": tenant.id})
    return int(value or 0)


async def test_the_providers_signed_callback_captures_the_online_payment(
    client: httpx.AsyncClient, tenant: TenantFixture, app_runtime: tuple[Any, Runtime]
) -> None:
    token = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)
    async with sandbox(app_runtime[0], tenant) as box:
        started = await start(client, token, order)
        assert started["payment"]["status"] == "PENDING"
        assert {p["key"] for p in started["clientParameters"]} == {"pay_url", "prepay_id"}
        await box.emulator.pay(started["payment"]["providerReference"])
        await box.emulator.settled()
        found = await state(client, admin, order)
    assert found["status"] == "PAID"
    assert found["tenders"][0]["status"] == "SUCCEEDED"
    assert [d.http_status for d in box.emulator.deliveries] == [200]


async def test_starting_twice_reuses_the_pending_provider_payment(
    client: httpx.AsyncClient, tenant: TenantFixture, app_runtime: tuple[Any, Runtime]
) -> None:
    token = await tenant.token("customer")
    order = await placed_order(tenant)
    async with sandbox(app_runtime[0], tenant) as box:
        first = await start(client, token, order)
        again = await start(client, token, order)
    assert again["payment"]["id"] == first["payment"]["id"]
    assert again["payment"]["providerReference"] == first["payment"]["providerReference"]
    assert len(box.emulator.payments) == 1


async def test_duplicate_callbacks_capture_once(
    client: httpx.AsyncClient, tenant: TenantFixture, app_runtime: tuple[Any, Runtime]
) -> None:
    token = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)
    async with sandbox(app_runtime[0], tenant) as box:
        started = await start(client, token, order)
        await box.emulator.pay(started["payment"]["providerReference"], duplicates=3)
        await box.emulator.settled()
        found = await state(client, admin, order)
    assert found["paidAmount"] == order.amount
    assert all(d.http_status == 200 for d in box.emulator.deliveries)
    assert len(box.emulator.deliveries) == 4
    assert (
        await count(
            tenant,
            "SELECT count(*) FROM kernel.outbox_event WHERE tenant_id = :t "
            "AND topic = 'payment.captured'",
        )
        == 1
    )


async def test_a_stale_failure_after_the_success_changes_nothing(
    client: httpx.AsyncClient, tenant: TenantFixture, app_runtime: tuple[Any, Runtime]
) -> None:
    token = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)
    async with sandbox(app_runtime[0], tenant) as box:
        started = await start(client, token, order)
        await box.emulator.pay(started["payment"]["providerReference"], stale_failure_after=True)
        await box.emulator.settled()
        found = await state(client, admin, order)
    assert [d.status for d in box.emulator.deliveries] == ["SUCCESS", "FAILED"]
    assert found["status"] == "PAID"
    assert found["tenders"][0]["status"] == "SUCCEEDED"


async def test_a_failed_payment_can_be_paid_again(
    client: httpx.AsyncClient, tenant: TenantFixture, app_runtime: tuple[Any, Runtime]
) -> None:
    token = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)
    async with sandbox(app_runtime[0], tenant) as box:
        first = await start(client, token, order)
        await box.emulator.fail(first["payment"]["providerReference"])
        await box.emulator.settled()
        assert (await state(client, admin, order))["tenders"][0]["status"] == "FAILED"
        second = await start(client, token, order)
        assert second["payment"]["id"] != first["payment"]["id"]
        await box.emulator.pay(second["payment"]["providerReference"])
        await box.emulator.settled()
        assert (await state(client, admin, order))["status"] == "PAID"


async def test_a_callback_with_a_bad_signature_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, tenant: TenantFixture, app_runtime: tuple[Any, Runtime]
) -> None:
    token = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)
    async with sandbox(app_runtime[0], tenant) as box:
        started = await start(client, token, order)
        payment = started["payment"]
        forged = json.dumps(
            {
                "notification_id": "ntf_forged",
                "event_type": "PAYMENT",
                "merchant_id": box.merchant_id,
                "out_trade_no": payment["id"],
                "transaction_id": payment["providerReference"],
                "status": "SUCCESS",
                "amount": order.amount,
                "currency": "CNY",
                "paid_at": None,
            }
        ).encode()
        url = f"{box.app_url}/callbacks/payment/sandbox/{tenant.id}"
        async with httpx.AsyncClient() as http:
            wrong_key = await http.post(
                url, content=forged, headers=signed_headers(secrets.token_hex(24), forged)
            )
            unsigned = await http.post(url, content=forged)
        assert (wrong_key.status_code, unsigned.status_code) == (401, 401)
        assert (await state(client, admin, order))["status"] == "OPEN"


async def test_a_callback_for_another_tenant_finds_nothing(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    app_runtime: tuple[Any, Runtime],
) -> None:
    token = await tenant.token("cashier")
    order = await placed_order(tenant)
    async with sandbox(app_runtime[0], tenant) as box:
        started = await start(client, token, order)
        payment = started["payment"]
        body = json.dumps(
            {
                "notification_id": "ntf_x",
                "event_type": "PAYMENT",
                "merchant_id": box.merchant_id,
                "out_trade_no": payment["id"],
                "transaction_id": payment["providerReference"],
                "status": "SUCCESS",
                "amount": order.amount,
                "currency": "CNY",
            }
        ).encode()
        async with httpx.AsyncClient() as http:
            answer = await http.post(
                f"{box.app_url}/callbacks/payment/sandbox/{other_tenant.id}",
                content=body,
                headers=signed_headers(box.secret, body),
            )
    assert answer.status_code == 404


async def test_a_payment_that_succeeds_after_the_order_closed_is_refunded(
    client: httpx.AsyncClient, tenant: TenantFixture, app_runtime: tuple[Any, Runtime]
) -> None:
    token = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)
    async with sandbox(app_runtime[0], tenant) as box:
        started = await start(client, token, order)
        async with tenant.runtime.db.unit_of_work(tenant.id) as session:
            await payment_api.close_payment(session, tenant.id, order.order_id)
        reference = started["payment"]["providerReference"]
        await box.emulator.pay(reference)
        await box.emulator.settled()
        found = await state(client, admin, order)
    assert found["status"] == "CLOSED"
    assert found["refunds"][0]["reason"] == "ORDER_CLOSED"
    assert found["refunds"][0]["status"] == "SUCCEEDED"
    assert box.emulator.payments[reference].refunded == order.amount


async def test_a_partial_online_refund_settles_on_the_providers_callback(
    client: httpx.AsyncClient, tenant: TenantFixture, app_runtime: tuple[Any, Runtime]
) -> None:
    token = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)
    async with sandbox(app_runtime[0], tenant) as box:
        started = await start(client, token, order)
        await box.emulator.pay(started["payment"]["providerReference"])
        await box.emulator.settled()
        box.emulator.hold_refunds = True
        body = await gql(
            client,
            admin,
            REFUND,
            {
                "input": {
                    "idempotencyKey": "rf-1",
                    "orderId": str(order.order_id),
                    "lines": [{"lineId": str(order.lines[0]), "amount": 500}],
                    "reason": "one dish was cold",
                }
            },
        )
        payload = body["data"]["refundPayment"]
        assert payload["userErrors"] == []
        assert [r["status"] for r in payload["refunds"]] == ["PENDING"]
        box.emulator.release_refunds()
        await box.emulator.settled()
        found = await state(client, admin, order)
    assert found["refunds"][0]["status"] == "SUCCEEDED"
    assert found["refunds"][0]["lines"] == [{"lineId": str(order.lines[0]), "amount": 500}]
    assert found["refundedAmount"] == 500
    assert found["status"] == "PAID"


async def test_a_refund_callback_that_beats_our_commit_is_delivered_again(
    client: httpx.AsyncClient, tenant: TenantFixture, app_runtime: tuple[Any, Runtime]
) -> None:
    token = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)
    async with sandbox(app_runtime[0], tenant) as box:
        started = await start(client, token, order)
        await box.emulator.pay(started["payment"]["providerReference"])
        await box.emulator.settled()
        # The provider confirms at once; our transaction may still be open when its
        # callback arrives (404, "deliver again"), and a later delivery settles it.
        await gql(
            client,
            admin,
            REFUND,
            {
                "input": {
                    "idempotencyKey": "rf-fast",
                    "orderId": str(order.order_id),
                    "lines": [{"lineId": str(order.lines[1]), "amount": 100}],
                }
            },
        )
        await box.emulator.settled()
        await asyncio.sleep(0)
        found = await state(client, admin, order)
    refunds = [d for d in box.emulator.deliveries if d.event_type == "REFUND"]
    assert refunds[-1].http_status == 200
    assert all(d.http_status in (200, 404) for d in refunds)
    assert found["refunds"][0]["status"] == "SUCCEEDED"


async def test_a_refund_the_provider_refuses_can_be_asked_again(
    client: httpx.AsyncClient, tenant: TenantFixture, app_runtime: tuple[Any, Runtime]
) -> None:
    token = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)
    line = str(order.lines[0])
    async with sandbox(app_runtime[0], tenant) as box:
        started = await start(client, token, order)
        await box.emulator.pay(started["payment"]["providerReference"])
        await box.emulator.settled()
        box.emulator.refuse_refunds = True
        variables: dict[str, Any] = {
            "input": {
                "idempotencyKey": "rf-refused",
                "orderId": str(order.order_id),
                "lines": [{"lineId": line, "amount": 500}],
            }
        }
        await gql(client, admin, REFUND, variables)
        await box.emulator.settled()
        refused = await state(client, admin, order)
        assert [r["status"] for r in refused["refunds"]] == ["FAILED"]
        assert refused["refundedAmount"] == 0
        assert refused["tenders"][0]["status"] == "SUCCEEDED"
        box.emulator.refuse_refunds = False
        variables["input"]["idempotencyKey"] = "rf-again"
        body = await gql(client, admin, REFUND, variables)
        assert body["data"]["refundPayment"]["userErrors"] == []
        await box.emulator.settled()
        found = await state(client, admin, order)
    assert [r["status"] for r in found["refunds"]] == ["FAILED", "SUCCEEDED"]
    assert found["refundedAmount"] == 500
