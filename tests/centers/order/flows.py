"""Arranging orders for the order tests: place through the API, pay as the payment
center does (a SYSTEM event), fire events through ``transitionOrder``."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import httpx

from centers.order import api as order_api
from tests.builders import Shop
from tests.conftest import TenantFixture, gql

ORDER_FIELDS = """
id number type channel status total { amount currency } listAmount { amount }
discount { amount } deliveryFee { amount } payable { amount } deposit { amount }
paid { amount } refunded { amount } pickupCode placedAt cancelledAt cancelReason
statusViews { buyer merchant erp }
"""
PLACE = f"""
mutation($input: PlaceOrderInput!) {{
  placeOrder(input: $input) {{ order {{ {ORDER_FIELDS} }} replayed userErrors {{ field message code }} }}
}}
"""
TRANSITION = f"""
mutation($input: TransitionOrderInput!) {{
  transitionOrder(input: $input) {{ order {{ {ORDER_FIELDS} }} replayed userErrors {{ field code message }} }}
}}
"""
ORDER = f"""
query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS}
  availableEvents
  history {{ actor event fromStatus toStatus reason }}
  subOrders {{ subOrderNo splitKey listAmount {{ amount }} discount {{ amount }}
    deliveryFee {{ amount }} payable {{ amount }} lines {{ lineNo }} }}
  lines {{ lineNo subOrderNo amount {{ amount }} discount {{ amount }} payable {{ amount }} }}
}} }}
"""


def place_input(
    shop: Shop,
    quantities: list[int],
    *,
    order_type: str = "STANDARD",
    channel: str = "POS",
    key: str | None = None,
) -> dict[str, Any]:
    return {
        "input": {
            "idempotencyKey": key or secrets.token_hex(8),
            "storeId": str(shop.store_id),
            "type": order_type,
            "channel": channel,
            "lines": [
                {"skuId": str(sku), "quantity": q}
                for sku, q in zip(shop.sku_ids, quantities, strict=False)
            ],
        }
    }


async def place(
    client: httpx.AsyncClient,
    token: str,
    shop: Shop,
    quantities: list[int] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    body = await gql(client, token, PLACE, place_input(shop, quantities or [1], **kwargs))
    payload = body["data"]["placeOrder"]
    assert payload["userErrors"] == [], payload
    order: dict[str, Any] = payload["order"]
    return order


async def pay(tenant: TenantFixture, order_id: str, amount: int) -> order_api.TransitionResult:
    """What the payment center's ``payment.captured`` handler does."""
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        return await order_api.apply_event(
            session,
            tenant.id,
            uuid.UUID(order_id),
            "PAY",
            "sa:payment-test",
            "",
            f"pay-{secrets.token_hex(4)}",
            amount=amount,
        )


async def fire(
    client: httpx.AsyncClient,
    token: str,
    order_id: str,
    event: str,
    *,
    key: str | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """``transitionOrder``; returns its payload (order, replayed, userErrors) or the body
    when the call failed with a GraphQL error."""
    body = await gql(
        client,
        token,
        TRANSITION,
        {"input": {"orderId": order_id, "event": event, "reason": reason, "idempotencyKey": key}},
    )
    if body.get("errors"):
        return body
    payload: dict[str, Any] = body["data"]["transitionOrder"]
    return payload


async def read(client: httpx.AsyncClient, token: str, order_id: str) -> dict[str, Any] | None:
    body = await gql(client, token, ORDER, {"id": order_id})
    assert "errors" not in body, body
    found: dict[str, Any] | None = body["data"]["order"]
    return found
