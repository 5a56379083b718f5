"""The member subgraph through the public API."""

from __future__ import annotations

import httpx

from tests.conftest import TenantFixture, gql

REGISTER = """
mutation($input: RegisterMemberInput!) {
  registerMember(input: $input) { member { id phone displayName level } userErrors { field code } }
}
"""
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Member { id phone } } }"


async def register(client: httpx.AsyncClient, token: str, phone: str, name: str = "Li Lei") -> dict:
    body = await gql(client, token, REGISTER, {"input": {"phone": phone, "displayName": name}})
    payload: dict = body["data"]["registerMember"]
    return payload


async def test_cashier_registers_a_member_by_phone(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("cashier")
    payload = await register(client, token, "+86 138-0013-8000")
    assert payload["userErrors"] == []
    assert payload["member"]["phone"] == "+8613800138000"
    assert payload["member"]["level"] == 1
    found = await gql(
        client,
        token,
        "query($id: ID!) { member(id: $id) { displayName } }",
        {"id": payload["member"]["id"]},
    )
    assert found["data"]["member"]["displayName"] == "Li Lei"
    listed = await gql(client, token, "{ members(first: 5) { edges { node { phone } } } }")
    assert [e["node"]["phone"] for e in listed["data"]["members"]["edges"]] == ["+8613800138000"]


async def test_member_user_errors(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    token = await tenant.token("cashier")
    await register(client, token, "+8613800138000")
    assert [e["code"] for e in (await register(client, token, "+8613800138000"))["userErrors"]] == [
        "PHONE_TAKEN"
    ]
    assert [e["code"] for e in (await register(client, token, "12345"))["userErrors"]] == [
        "INVALID_PHONE"
    ]
    assert [
        e["code"] for e in (await register(client, token, "+8613900000000", " "))["userErrors"]
    ] == ["INVALID_NAME"]


async def test_customer_cannot_read_members(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    body = await gql(
        client, await tenant.token("customer"), "{ members(first: 1) { edges { cursor } } }"
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_other_tenant_cannot_see_a_member(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    created = await register(client, await tenant.token("cashier"), "+8613800138000")
    member_id = created["member"]["id"]
    other = await other_tenant.token("tenant_admin")
    body = await gql(client, other, "query($id: ID!) { member(id: $id) { id } }", {"id": member_id})
    assert body["data"]["member"] is None
    listed = await gql(client, other, "{ members(first: 5) { edges { cursor } } }")
    assert listed["data"]["members"]["edges"] == []
    reps = [{"__typename": "Member", "id": member_id}]
    theirs = await gql(client, other, ENTITIES, {"r": reps}, path="/subgraphs/member/graphql")
    assert theirs["data"]["_entities"] == [None]
    mine = await gql(
        client,
        await tenant.token("tenant_admin"),
        ENTITIES,
        {"r": reps},
        path="/subgraphs/member/graphql",
    )
    assert mine["data"]["_entities"][0]["phone"] == "+8613800138000"
