"""Order review (审核): blacklisted members, buying too often and deep discounts send the
order to PENDING_REVIEW; staff approve (then it waits for payment) or reject."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from centers.order import api as order_api
from tests.builders import open_shop
from tests.centers.order.flows import PLACE, fire, place, place_input, read
from tests.centers.order.test_place_order import stock_of
from tests.centers.promotion.arrange import live_activity, register
from tests.conftest import TenantFixture, gql

BLACKLIST = """
mutation($input: SetMemberBlacklistedInput!) {
  setMemberBlacklisted(input: $input) { userErrors { code } }
}
"""
SETTINGS = """
mutation($input: UpdateOrderSettingsInput!) {
  updateOrderSettings(input: $input) {
    settings { reviewOrdersPerHour reviewDiscountPercent } userErrors { field code }
  }
}
"""
QUEUE = """
{ orders(first: 20, status: [PENDING_REVIEW]) { edges { node { id status } } } }
"""


async def _settings(client: httpx.AsyncClient, token: str, **values: object) -> dict[str, object]:
    body = await gql(
        client,
        token,
        SETTINGS,
        {"input": {"paymentTimeoutSeconds": 900, "afterSaleDays": 7, **values}},
    )
    payload: dict[str, object] = body["data"]["updateOrderSettings"]
    return payload


async def test_a_blacklisted_members_order_waits_in_the_review_queue(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    member = await register(tenant)
    body = await gql(
        client,
        admin,
        BLACKLIST,
        {"input": {"memberId": str(member), "blacklisted": True, "reason": "chargebacks"}},
    )
    assert body["data"]["setMemberBlacklisted"]["userErrors"] == []
    variables = place_input(shop, [1])
    variables["input"]["memberId"] = str(member)
    placed = (await gql(client, admin, PLACE, variables))["data"]["placeOrder"]["order"]
    assert placed["status"] == "PENDING_REVIEW"
    assert placed["statusViews"] == {
        "buyer": "PROCESSING",
        "merchant": "TO_REVIEW",
        "erp": "CREATED",
    }
    queue = (await gql(client, admin, QUEUE))["data"]["orders"]["edges"]
    assert [edge["node"]["id"] for edge in queue] == [placed["id"]]
    found = await read(client, admin, placed["id"])
    assert found is not None and "blacklisted member (chargebacks)" in found["history"][0]["reason"]


async def test_approving_starts_the_payment_clock_and_rejecting_gives_stock_back(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    assert (await _settings(client, admin, reviewOrdersPerHour=1))["userErrors"] == []
    buyer = await tenant.token("customer")
    first = await place(client, buyer, shop, [1])
    assert first["status"] == "PLACED"
    second = await place(client, buyer, shop, [2])
    third = await place(client, buyer, shop, [3])
    assert (second["status"], third["status"]) == ("PENDING_REVIEW", "PENDING_REVIEW")
    refused = await fire(client, buyer, second["id"], "APPROVE")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    approved = await fire(client, admin, second["id"], "APPROVE")
    assert approved["order"]["status"] == "PLACED"
    rejected = await fire(client, admin, third["id"], "REJECT_REVIEW", reason="reseller")
    assert rejected["order"]["status"] == "CANCELLED"
    assert await stock_of(client, admin, shop) == {"onHand": 100, "reserved": 3, "available": 97}
    # The approved order now times out like any unpaid order; in review it did not.
    await tenant.runtime.jobs.run_due(
        now=datetime.now(UTC) + timedelta(minutes=16), tenant_id=tenant.id
    )
    assert (await read(client, admin, second["id"]) or {})["status"] == "CANCELLED"


async def test_a_deep_discount_goes_to_review(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await _settings(client, admin, reviewDiscountPercent=30)
    await live_activity(
        client, admin, "SPEND_AND_SAVE", {"tiers": [{"threshold": 1000, "discount": 500}]}
    )
    flagged = await place(client, admin, shop, [1])  # 500 off 1200: 41%
    assert flagged["status"] == "PENDING_REVIEW"
    fine = await place(client, admin, shop, [2])  # 500 off 2400: 20%
    assert fine["status"] == "PLACED"


async def test_settings_out_of_range_are_user_errors(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    refused = await _settings(client, admin, reviewDiscountPercent=150)
    assert refused["userErrors"] == [
        {"field": ["input", "reviewDiscountPercent"], "code": "INVALID_SETTING"}
    ]
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        assert (await order_api.get_settings(session, tenant.id)).review_discount_percent is None
