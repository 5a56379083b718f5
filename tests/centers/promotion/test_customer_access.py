"""A customer claims coupons for their own membership (领券), sees only their own, and
prices carts only as their own membership."""

from __future__ import annotations

import asyncio
import secrets
import uuid

import httpx

from centers.member import api as member_api
from centers.member import profile
from tests.builders import open_shop
from tests.centers.promotion.arrange import (
    ISSUE,
    SET_LEVEL,
    coupon_template,
    price_cart,
    register,
)
from tests.conftest import TenantFixture, gql

CLAIM = """
mutation($input: ClaimCouponInput!) {
  claimCoupon(input: $input) { coupon { id code memberId } userErrors { field code } }
}
"""
MINE = "{ myCoupons { edges { node { id status } } } }"


async def customer_of(tenant: TenantFixture, member: uuid.UUID | None) -> str:
    """A customer token; with ``member``, that member's app account."""
    subject = f"app-{secrets.token_hex(4)}"
    if member is not None:
        async with tenant.runtime.db.unit_of_work(tenant.id) as session:
            await profile.link_identity(
                session,
                tenant.id,
                member_id=member,
                kind=member_api.IdentityKind.APP,
                external_id=subject,
            )
    return await tenant.token("customer", sub=subject)


async def test_a_member_claims_a_coupon_for_themselves_within_the_limit(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    template = await coupon_template(client, admin, perMemberLimit=1)
    member = await register(tenant)
    customer = await customer_of(tenant, member)
    variables = {"input": {"idempotencyKey": "tap-1", "templateId": template["id"]}}
    first = (await gql(client, customer, CLAIM, variables))["data"]["claimCoupon"]
    assert first["coupon"]["memberId"] == str(member)
    replay = (await gql(client, customer, CLAIM, variables))["data"]["claimCoupon"]
    assert replay["coupon"] == first["coupon"]
    second = await gql(
        client,
        customer,
        CLAIM,
        {"input": {"idempotencyKey": "tap-2", "templateId": template["id"]}},
    )
    assert second["data"]["claimCoupon"]["userErrors"][0]["code"] == "COUPON_LIMIT_REACHED"
    mine = await gql(client, customer, MINE)
    assert [e["node"]["id"] for e in mine["data"]["myCoupons"]["edges"]] == [first["coupon"]["id"]]


async def test_a_customer_without_membership_cannot_claim(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    template = await coupon_template(client, admin)
    customer = await customer_of(tenant, None)
    body = await gql(
        client, customer, CLAIM, {"input": {"idempotencyKey": "k", "templateId": template["id"]}}
    )
    assert body["data"]["claimCoupon"]["userErrors"][0]["code"] == "MEMBER_REQUIRED"
    assert (await gql(client, customer, MINE))["data"]["myCoupons"]["edges"] == []


async def test_a_customer_cannot_issue_coupons_to_someone_else(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    template = await coupon_template(client, admin)
    customer = await customer_of(tenant, await register(tenant))
    body = await gql(
        client,
        customer,
        ISSUE,
        {
            "input": {
                "idempotencyKey": "x",
                "templateId": template["id"],
                "memberId": str(await register(tenant)),
            }
        },
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_total_quantity_holds_when_many_members_claim_at_once(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    template = await coupon_template(client, admin, totalQuantity=3)
    customers = [await customer_of(tenant, await register(tenant)) for _ in range(8)]
    results = await asyncio.gather(
        *(
            gql(
                client,
                c,
                CLAIM,
                {"input": {"idempotencyKey": f"k-{i}", "templateId": template["id"]}},
            )
            for i, c in enumerate(customers)
        )
    )
    payloads = [r["data"]["claimCoupon"] for r in results]
    assert len([p for p in payloads if p["coupon"]]) == 3
    assert {p["userErrors"][0]["code"] for p in payloads if not p["coupon"]} == {"COUPON_EXHAUSTED"}


async def test_a_customer_prices_only_as_their_own_membership(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    await gql(
        client,
        admin,
        SET_LEVEL,
        {"input": {"level": 1, "name": "Silver", "growthThreshold": 0, "discountBasisPoints": 500}},
    )
    shop = await open_shop(tenant)
    mine, theirs = await register(tenant), await register(tenant)
    customer = await customer_of(tenant, mine)
    own = await price_cart(client, customer, shop.store_id, [(shop.sku_ids[0], 1)])
    assert [a["source"] for a in own["quote"]["allocations"]] == ["MEMBER"]
    probe = await price_cart(
        client, customer, shop.store_id, [(shop.sku_ids[0], 1)], memberId=str(theirs)
    )
    assert probe["userErrors"] == [
        {
            "field": ["input", "memberId"],
            "message": "you can only price as your own membership",
            "code": "MEMBER_NOT_YOURS",
        }
    ]
