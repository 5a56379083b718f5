"""A completed order earns its member points and growth for what they paid, once."""

from __future__ import annotations

import secrets
import uuid

import httpx

from centers.member import api as member_api
from centers.order import api as order_api
from centers.points import api as points_api
from tests.builders import open_shop
from tests.centers.payment.arrange import points_member
from tests.conftest import TenantFixture, gql


async def test_a_served_dine_in_order_earns_points_and_growth_for_what_was_paid(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    member = await points_member(tenant, 0)  # 1 point per ¥1 paid
    shop = await open_shop(tenant)
    cashier = await tenant.token("cashier")
    placed = await gql(
        client,
        cashier,
        """mutation($input: PlaceOrderInput!) {
          placeOrder(input: $input) { order { id } userErrors { code } } }""",
        {
            "input": {
                "idempotencyKey": f"o-{secrets.token_hex(4)}",
                "storeId": str(shop.store_id),
                "lines": [{"skuId": str(shop.sku_ids[0]), "quantity": 2}],
                "type": "DINE_IN",
                "memberId": str(member),
            }
        },
    )
    assert placed["data"]["placeOrder"]["userErrors"] == [], placed
    order_id = uuid.UUID(placed["data"]["placeOrder"]["order"]["id"])
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        order = await order_api.get_order(session, tenant.id, order_id)
    assert order is not None
    body = await gql(
        client,
        cashier,
        """mutation($input: RecordCashPaymentInput!) {
          recordCashPayment(input: $input) { userErrors { code } } }""",
        {
            "input": {
                "idempotencyKey": "cash",
                "orderId": str(order_id),
                "amount": order.total.amount,
            }
        },
    )
    assert body["data"]["recordCashPayment"]["userErrors"] == []
    for event in ("ACCEPT", "MARK_READY", "SERVE"):
        async with tenant.runtime.db.unit_of_work(tenant.id) as session:
            await order_api.apply_event(
                session, tenant.id, order_id, event, "sa:pos", "kitchen", f"k-{event}"
            )
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        balance = await points_api.get_balance(session, tenant.id, member)
        found = await member_api.get_member(session, tenant.id, member)
    assert balance == order.total.amount // 100
    assert found is not None and found.growth == order.total.amount // 100
