"""Orders a sales channel collected the money for (美团, 饿了么) carry a recorded CHANNEL
tender, so after-sale refunds work and the daily reconciliation reports them per
channel for settlement."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from centers.order import api as order_api
from centers.payment import api as payment_api
from tests.builders import open_shop
from tests.centers.order.test_after_sales import _move, _request
from tests.conftest import TenantFixture, gql

PAYMENT = """
query($id: ID!) {
  orderPayment(orderId: $id) {
    status paidAmount refundedAmount
    tenders { tender status amount { amount } providerReference }
    refunds { tender amount { amount } status }
  }
}
"""
RECONCILE = """
query($store: ID!, $day: Date!) {
  paymentReconciliation(storeId: $store, day: $day) {
    tender provider payments paid refunds refunded net currency
  }
}
"""


async def test_a_channel_order_is_refunded_through_its_channel_tender_and_reported(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)  # 1200, 800, 350
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        order, _ = await order_api.import_channel_order(
            session,
            tenant.id,
            channel="MEITUAN",
            external_id="MT-0042",
            store_id=shop.store_id,
            buyer="sa:channel-meituan",
            lines=[
                order_api.LineRequest(sku_id=shop.sku_ids[0], quantity=1),
                order_api.LineRequest(sku_id=shop.sku_ids[1], quantity=1),
            ],
        )
    assert order.status == "PAID"
    manager = await tenant.token("store_manager")
    admin = await tenant.token("tenant_admin")
    payment: dict[str, Any] = (await gql(client, manager, PAYMENT, {"id": str(order.id)}))["data"][
        "orderPayment"
    ]
    assert (payment["status"], payment["paidAmount"]) == ("PAID", 2000)
    assert payment["tenders"] == [
        {
            "tender": "CHANNEL",
            "status": "SUCCEEDED",
            "amount": {"amount": 2000},
            "providerReference": "MT-0042",
        }
    ]

    asked = await _request(
        client, manager, str(order.id), "REFUND_ONLY", [{"lineNo": 2, "quantity": 1}]
    )
    assert asked["userErrors"] == [], asked
    done = await _move(client, admin, asked["afterSale"]["id"], "APPROVE")
    assert done["afterSale"]["status"] == "REFUNDED"
    after = (await gql(client, manager, PAYMENT, {"id": str(order.id)}))["data"]["orderPayment"]
    assert after["refunds"] == [
        {"tender": "CHANNEL", "amount": {"amount": 800}, "status": "SUCCEEDED"}
    ]
    assert after["refundedAmount"] == 800

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    body = await gql(client, manager, RECONCILE, {"store": str(shop.store_id), "day": str(today)})
    assert body["data"]["paymentReconciliation"] == [
        {
            "tender": "CHANNEL",
            "provider": "MEITUAN",
            "payments": 1,
            "paid": 2000,
            "refunds": 1,
            "refunded": 800,
            "net": 1200,
            "currency": "CNY",
        }
    ]


async def test_an_unpaid_channel_order_gets_an_ordinary_payment_to_pay(
    tenant: TenantFixture,
) -> None:
    shop = await open_shop(tenant)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        order, _ = await order_api.import_channel_order(
            session,
            tenant.id,
            channel="AGENCY",
            external_id="A-77",
            store_id=shop.store_id,
            buyer="sa:channel-agency",
            lines=[order_api.LineRequest(sku_id=shop.sku_ids[0], quantity=1)],
            paid=False,
        )
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        found = await payment_api.get_order_payment(session, tenant.id, order.id)
        tenders = await payment_api.payments_of_orders(session, tenant.id, [order.id])
    assert found is not None and found.status.value == "OPEN"
    assert tenders[order.id] == []
