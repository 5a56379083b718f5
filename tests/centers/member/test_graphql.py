"""The member subgraph through the public API."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import sqlalchemy as sa

from centers.member import api as member_api
from kernel.db import Database
from tests.conftest import TenantFixture, gql
from tests.sql_statements import count_rows

REGISTER = """
mutation($input: RegisterMemberInput!) {
  registerMember(input: $input) {
    member { id phone displayName level createdAt }
    userErrors { field message code }
  }
}
"""
MEMBER = "query($id: ID!) { member(id: $id) { id phone displayName level } }"
MEMBERS = """
query($first: Int!, $after: String) {
  members(first: $first, after: $after) {
    edges { node { phone } cursor }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ENTITIES = """
query($r: [_Any!]!) { _entities(representations: $r) { ... on Member { id phone displayName } } }
"""
SUBGRAPH = "/subgraphs/member/graphql"


async def register(
    client: httpx.AsyncClient, token: str, phone: str, name: str = "Li Lei"
) -> dict[str, Any]:
    body = await gql(client, token, REGISTER, {"input": {"phone": phone, "displayName": name}})
    payload: dict[str, Any] = body["data"]["registerMember"]
    return payload


async def member_count(db: Database, tenant: TenantFixture) -> int:
    return await count_rows(db, "member.member", tenant.id)


async def test_cashier_registers_a_member_with_a_normalized_phone(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    payload = await register(client, await tenant.token("cashier"), "+86 138-0013-8000")
    assert payload["userErrors"] == []
    member = payload["member"]
    assert (member["phone"], member["displayName"], member["level"]) == (
        "+8613800138000",
        "Li Lei",
        1,
    )
    assert member["createdAt"].endswith("+00:00")


async def test_member_query_returns_the_registered_member(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("cashier")
    created = (await register(client, token, "+8613800138000"))["member"]
    body = await gql(client, await tenant.token("store_manager"), MEMBER, {"id": created["id"]})
    assert body["data"]["member"] == {
        "id": created["id"],
        "phone": "+8613800138000",
        "displayName": "Li Lei",
        "level": 1,
    }


async def test_member_query_is_null_for_an_unknown_or_malformed_id(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("cashier")
    unknown = await gql(client, token, MEMBER, {"id": "01a20000-0000-7000-8000-000000000000"})
    malformed = await gql(client, token, MEMBER, {"id": "nope"})
    assert unknown["data"]["member"] is None and "errors" not in unknown
    assert malformed["data"]["member"] is None and "errors" not in malformed


async def test_members_are_listed_newest_first_in_pages(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    phones = [f"+861380013800{i}" for i in range(3)]
    for phone in phones:
        await register(client, token, phone)
    first = (await gql(client, token, MEMBERS, {"first": 2}))["data"]["members"]
    assert [e["node"]["phone"] for e in first["edges"]] == [phones[2], phones[1]]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await gql(client, token, MEMBERS, {"first": 2, "after": first["pageInfo"]["endCursor"]})
    assert [e["node"]["phone"] for e in rest["data"]["members"]["edges"]] == [phones[0]]
    assert rest["data"]["members"]["pageInfo"]["hasNextPage"] is False


async def test_registering_a_taken_phone_is_phone_taken_and_writes_nothing(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("cashier")
    await register(client, token, "+8613800138000")
    # A replay of the same registration answers the same way: the phone is the key.
    again = await register(client, token, "+86 13800138000", "Someone Else")
    assert again == {
        "member": None,
        "userErrors": [
            {
                "field": ["input", "phone"],
                "message": "a member with this phone is already registered",
                "code": "PHONE_TAKEN",
            }
        ],
    }
    assert await member_count(db, tenant) == 1


async def test_concurrent_registrations_of_one_phone_make_one_member(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("cashier")
    results = await asyncio.gather(*(register(client, token, "+8613800138000") for _ in range(20)))
    created = [r for r in results if r["member"]]
    refused = [e["code"] for r in results for e in r["userErrors"]]
    assert len(created) == 1 and refused == ["PHONE_TAKEN"] * 19
    assert await member_count(db, tenant) == 1


async def test_a_phone_without_country_code_is_invalid_phone(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    payload = await register(client, await tenant.token("cashier"), "13800138000")
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "phone"], "INVALID_PHONE")
    ]
    assert payload["member"] is None and await member_count(db, tenant) == 0


async def test_a_blank_display_name_is_invalid_name(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    payload = await register(client, await tenant.token("cashier"), "+8613800138000", "  ")
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "displayName"], "INVALID_NAME")
    ]
    assert await member_count(db, tenant) == 0


async def test_one_phone_may_register_in_two_tenants(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    mine = await register(client, await tenant.token("cashier"), "+8613800138000")
    theirs = await register(client, await other_tenant.token("cashier"), "+8613800138000")
    assert mine["userErrors"] == [] and theirs["userErrors"] == []
    assert mine["member"]["id"] != theirs["member"]["id"]


async def test_registration_writes_a_member_registered_event(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    created = await register(client, await tenant.token("cashier"), "+8613800138000")
    async with db.unit_of_work() as session:
        rows = (
            await session.execute(
                sa.text(
                    "SELECT topic, aggregate_id, payload FROM kernel.outbox_event"
                    " WHERE tenant_id = :t AND topic LIKE 'member.%'"
                ),
                {"t": tenant.id},
            )
        ).all()
    assert [(r.topic, str(r.aggregate_id), r.payload["phone"]) for r in rows] == [
        ("member.registered", created["member"]["id"], "+8613800138000")
    ]


async def test_member_by_phone_finds_a_member_however_the_phone_is_typed(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    created = await register(client, await tenant.token("cashier"), "+8613800138000")
    async with db.unit_of_work() as session:
        found = await member_api.member_by_phone(session, tenant.id, "+86 138 0013 8000")
        missing = await member_api.member_by_phone(session, tenant.id, "+8613900139000")
    assert found is not None and str(found.id) == created["member"]["id"]
    assert missing is None


async def test_store_manager_cannot_register_members(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    body = await gql(
        client,
        await tenant.token("store_manager"),
        REGISTER,
        {"input": {"phone": "+8613800138000", "displayName": "Li Lei"}},
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await member_count(db, tenant) == 0


async def test_customer_cannot_read_members(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    body = await gql(client, await tenant.token("customer"), MEMBERS, {"first": 1})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None


async def test_other_tenant_gets_null_for_a_member_and_an_empty_list(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    created = await register(client, await tenant.token("cashier"), "+8613800138000")
    other = await other_tenant.token("tenant_admin")
    found = await gql(client, other, MEMBER, {"id": created["member"]["id"]})
    listed = await gql(client, other, MEMBERS, {"first": 5})
    assert found["data"]["member"] is None
    assert listed["data"]["members"]["edges"] == []


async def test_member_entity_resolves_only_in_its_own_tenant(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    created = await register(client, await tenant.token("cashier"), "+8613800138000")
    reps = {"r": [{"__typename": "Member", "id": created["member"]["id"]}]}
    mine = await gql(client, await tenant.token("store_manager"), ENTITIES, reps, path=SUBGRAPH)
    theirs = await gql(
        client, await other_tenant.token("tenant_admin"), ENTITIES, reps, path=SUBGRAPH
    )
    assert mine["data"]["_entities"] == [
        {"id": created["member"]["id"], "phone": "+8613800138000", "displayName": "Li Lei"}
    ]
    assert theirs["data"]["_entities"] == [None]


async def test_member_entity_needs_member_read(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    created = await register(client, await tenant.token("cashier"), "+8613800138000")
    reps = {"r": [{"__typename": "Member", "id": created["member"]["id"]}]}
    body = await gql(client, await tenant.token("customer"), ENTITIES, reps, path=SUBGRAPH)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
