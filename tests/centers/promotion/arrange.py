"""Arranging promotion test data through the public GraphQL API."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import httpx

from centers.member import api as member_api
from tests.conftest import TenantFixture, gql

CREATE = """
mutation($input: CreatePromotionActivityInput!) {
  createPromotionActivity(input: $input) {
    promotionActivity { id status }
    userErrors { field message code }
  }
}
"""
ACTIVATE = """
mutation($input: PromotionActivityIdInput!) {
  activatePromotionActivity(input: $input) {
    promotionActivity { id status }
    userErrors { field message code }
  }
}
"""
CREATE_TEMPLATE = """
mutation($input: CreateCouponTemplateInput!) {
  createCouponTemplate(input: $input) {
    couponTemplate { id sharedCode issued redeemed }
    userErrors { field message code }
  }
}
"""
ISSUE = """
mutation($input: IssueCouponInput!) {
  issueCoupon(input: $input) {
    coupon { id code status memberId }
    userErrors { field message code }
  }
}
"""
PRICE = """
query($input: PriceCartInput!) {
  priceCart(input: $input) {
    quote {
      currency subtotal discountTotal payableTotal pointsRedeemed
      lines { lineIndex listAmount discountAmount payableAmount }
      allocations { lineIndex source sourceId label amount }
      explanation
    }
    userErrors { field message code }
  }
}
"""
SET_LEVEL = """
mutation($input: SetMemberLevelInput!) {
  setMemberLevel(input: $input) {
    memberLevel { id level name discountBasisPoints combine }
    userErrors { field message code }
  }
}
"""

WINDOW = {"startsAt": "2020-01-01T00:00:00+00:00", "endsAt": "2099-01-01T00:00:00+00:00"}


async def live_activity(
    client: httpx.AsyncClient, token: str, kind: str, rules: dict[str, Any], **extra: Any
) -> str:
    """Create and activate an activity; returns its id."""
    values = {"name": extra.pop("name", kind), "kind": kind, **WINDOW, "rules": rules, **extra}
    body = await gql(client, token, CREATE, {"input": values})
    payload = body["data"]["createPromotionActivity"]
    assert payload["userErrors"] == [], payload
    activity_id: str = payload["promotionActivity"]["id"]
    body = await gql(client, token, ACTIVATE, {"input": {"activityId": activity_id}})
    assert body["data"]["activatePromotionActivity"]["userErrors"] == [], body
    return activity_id


async def coupon_template(client: httpx.AsyncClient, token: str, **values: Any) -> dict[str, Any]:
    template = {"name": "¥5 off", "kind": "AMOUNT_OFF", "amountOff": 500, **WINDOW, **values}
    body = await gql(client, token, CREATE_TEMPLATE, {"input": template})
    payload = body["data"]["createCouponTemplate"]
    assert payload["userErrors"] == [], payload
    created: dict[str, Any] = payload["couponTemplate"]
    return created


async def issue(
    client: httpx.AsyncClient, token: str, template_id: str, member_id: uuid.UUID
) -> dict[str, Any]:
    body = await gql(
        client,
        token,
        ISSUE,
        {
            "input": {
                "idempotencyKey": f"issue-{secrets.token_hex(6)}",
                "templateId": template_id,
                "memberId": str(member_id),
            }
        },
    )
    payload: dict[str, Any] = body["data"]["issueCoupon"]
    return payload


async def price_cart(
    client: httpx.AsyncClient,
    token: str,
    store_id: uuid.UUID,
    lines: list[tuple[uuid.UUID, int]],
    **extra: Any,
) -> dict[str, Any]:
    values = {
        "storeId": str(store_id),
        "channel": extra.pop("channel", "MINI_PROGRAM"),
        "lines": [{"skuId": str(sku), "quantity": qty} for sku, qty in lines],
        **extra,
    }
    body = await gql(client, token, PRICE, {"input": values})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["priceCart"]
    return result


async def register(tenant: TenantFixture) -> uuid.UUID:
    phone = "+86138" + str(secrets.randbelow(10**8)).zfill(8)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        member = await member_api.register_member(
            session, tenant.id, phone=phone, display_name="Test member"
        )
    return member.id
