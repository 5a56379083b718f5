"""Members across channels, levels by growth, addresses, tags and the blacklist, through
the public API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from centers.member import api as member_api
from tests.centers.promotion.arrange import SET_LEVEL, register
from tests.conftest import TenantFixture, gql

LINK = """
mutation($input: LinkMemberIdentityInput!) {
  linkMemberIdentity(input: $input) {
    member { id identities { kind externalId } }
    userErrors { field code }
  }
}
"""
BY_IDENTITY = """
query($kind: IdentityKind!, $id: String!) { memberByIdentity(kind: $kind, externalId: $id) { id } }
"""
MEMBER = """
query($id: ID!) {
  member(id: $id) {
    level growth blacklisted tags
    addresses { receiver region detail isDefault }
  }
}
"""


async def link(
    client: httpx.AsyncClient, token: str, member: uuid.UUID, kind: str, external_id: str
) -> dict[str, Any]:
    body = await gql(
        client,
        token,
        LINK,
        {"input": {"memberId": str(member), "kind": kind, "externalId": external_id}},
    )
    payload: dict[str, Any] = body["data"]["linkMemberIdentity"]
    return payload


async def test_every_channel_id_leads_to_the_same_member(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    member = await register(tenant)
    await link(client, cashier, member, "MINI_PROGRAM", "oX1-openid")
    payload = await link(client, cashier, member, "APP", "app-42")
    kinds = {i["kind"] for i in payload["member"]["identities"]}
    assert kinds == {"PHONE", "MINI_PROGRAM", "APP"}
    for kind, external in (("MINI_PROGRAM", "oX1-openid"), ("APP", "app-42")):
        body = await gql(client, cashier, BY_IDENTITY, {"kind": kind, "id": external})
        assert body["data"]["memberByIdentity"]["id"] == str(member)


async def test_a_channel_id_cannot_belong_to_two_members(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    first, second = await register(tenant), await register(tenant)
    await link(client, cashier, first, "MINI_PROGRAM", "shared-openid")
    again = await link(client, cashier, first, "MINI_PROGRAM", "shared-openid")
    assert again["userErrors"] == []
    taken = await link(client, cashier, second, "MINI_PROGRAM", "shared-openid")
    assert taken["userErrors"] == [{"field": ["input", "externalId"], "code": "IDENTITY_TAKEN"}]


async def test_another_brand_does_not_find_the_member_by_its_channel_id(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    member = await register(tenant)
    await link(client, cashier, member, "APP", "app-77")
    other = await other_tenant.token("cashier")
    body = await gql(client, other, BY_IDENTITY, {"kind": "APP", "id": "app-77"})
    assert body["data"]["memberByIdentity"] is None


async def test_growth_moves_a_member_up_the_levels(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    for level, name, threshold in ((1, "Silver", 0), (2, "Gold", 100), (3, "Black", 1000)):
        body = await gql(
            client,
            admin,
            SET_LEVEL,
            {"input": {"level": level, "name": name, "growthThreshold": threshold}},
        )
        assert body["data"]["setMemberLevel"]["userErrors"] == []
    member = await register(tenant)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        order = uuid.uuid4()
        assert await member_api.add_growth_for_order(
            session, tenant.id, member_id=member, order_id=order, amount_paid=25_000
        )
        # Once per order.
        assert not await member_api.add_growth_for_order(
            session, tenant.id, member_id=member, order_id=order, amount_paid=25_000
        )
    body = await gql(client, admin, MEMBER, {"id": str(member)})
    assert body["data"]["member"]["growth"] == 250
    assert body["data"]["member"]["level"] == 2
    # Raising the bar moves members at once.
    await gql(
        client, admin, SET_LEVEL, {"input": {"level": 2, "name": "Gold", "growthThreshold": 500}}
    )
    body = await gql(client, admin, MEMBER, {"id": str(member)})
    assert body["data"]["member"]["level"] == 1


async def test_addresses_keep_one_default(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    cashier = await tenant.token("cashier")
    member = await register(tenant)
    mutation = """
    mutation($input: AddMemberAddressInput!) {
      addMemberAddress(input: $input) { userErrors { field code } }
    }
    """
    for detail, default in (("1 Road", False), ("2 Road", True)):
        body = await gql(
            client,
            cashier,
            mutation,
            {
                "input": {
                    "memberId": str(member),
                    "receiver": "Li",
                    "phone": "+8613800138000",
                    "region": "Shanghai",
                    "detail": detail,
                    "isDefault": default,
                }
            },
        )
        assert body["data"]["addMemberAddress"]["userErrors"] == []
    bad = await gql(
        client,
        cashier,
        mutation,
        {
            "input": {
                "memberId": str(member),
                "receiver": " ",
                "phone": "+8613800138000",
                "region": "Shanghai",
                "detail": "x",
            }
        },
    )
    assert bad["data"]["addMemberAddress"]["userErrors"][0]["code"] == "INVALID_ADDRESS"
    body = await gql(client, cashier, MEMBER, {"id": str(member)})
    addresses = body["data"]["member"]["addresses"]
    assert [(a["detail"], a["isDefault"]) for a in addresses] == [
        ("2 Road", True),
        ("1 Road", False),
    ]


async def test_tags_and_the_blacklist_reach_order_review(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    manager = await tenant.token("store_manager")
    member = await register(tenant)
    body = await gql(
        client,
        cashier,
        """mutation($input: TagMemberInput!) {
          tagMember(input: $input) { member { tags } userErrors { code } } }""",
        {"input": {"memberId": str(member), "add": ["vip", "spicy"], "remove": []}},
    )
    assert body["data"]["tagMember"]["member"]["tags"] == ["spicy", "vip"]
    blacklist = """mutation($input: SetMemberBlacklistedInput!) {
      setMemberBlacklisted(input: $input) { member { blacklisted } userErrors { code } } }"""
    denied = await gql(
        client,
        cashier,
        blacklist,
        {"input": {"memberId": str(member), "blacklisted": True, "reason": "fraud"}},
    )
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    no_reason = await gql(
        client, manager, blacklist, {"input": {"memberId": str(member), "blacklisted": True}}
    )
    assert no_reason["data"]["setMemberBlacklisted"]["userErrors"][0]["code"] == "INVALID_REASON"
    done = await gql(
        client,
        manager,
        blacklist,
        {"input": {"memberId": str(member), "blacklisted": True, "reason": "chargebacks"}},
    )
    assert done["data"]["setMemberBlacklisted"]["member"]["blacklisted"] is True
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        review = await member_api.review_member(session, tenant.id, member)
    assert review is not None
    assert (review.blacklisted, review.reason, review.tags) == (
        True,
        "chargebacks",
        ("spicy", "vip"),
    )
