"""The store subgraph through the public API."""

from __future__ import annotations

import httpx

from tests.conftest import TenantFixture, gql

CREATE = """
mutation($input: CreateStoreInput!) {
  createStore(input: $input) { store { id code name timezone } userErrors { field message code } }
}
"""


async def test_admin_creates_and_lists_stores(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    created = await gql(client, token, CREATE, {"input": {"code": "S1", "name": "Main"}})
    store = created["data"]["createStore"]["store"]
    assert created["data"]["createStore"]["userErrors"] == []
    assert store["code"] == "S1" and store["timezone"] == "Asia/Shanghai"

    listed = await gql(
        client,
        token,
        "{ stores(first: 10) { edges { node { id code } } pageInfo { hasNextPage } } }",
    )
    assert [e["node"]["code"] for e in listed["data"]["stores"]["edges"]] == ["S1"]


async def test_duplicate_store_code_is_a_user_error(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    await gql(client, token, CREATE, {"input": {"code": "S1", "name": "Main"}})
    again = await gql(client, token, CREATE, {"input": {"code": "S1", "name": "Other"}})
    assert again["data"]["createStore"] == {
        "store": None,
        "userErrors": [
            {
                "field": ["input", "code"],
                "message": "store code 'S1' is taken",
                "code": "CODE_TAKEN",
            }
        ],
    }


async def test_cashier_cannot_create_store(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("cashier")
    denied = await gql(client, token, CREATE, {"input": {"code": "S1", "name": "Main"}})
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = await tenant.token("tenant_admin")
    listed = await gql(client, admin, "{ stores(first: 10) { edges { node { id } } } }")
    assert listed["data"]["stores"]["edges"] == []


async def test_a_time_zone_that_is_not_one_is_a_user_error_on_create_and_update(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    """Found by the fuzzer: "Asia" (a directory of the tz database) and a name longer than
    a file name reached ZoneInfo's file lookup and answered INTERNAL."""
    token = await tenant.token("tenant_admin")
    created = await gql(client, token, CREATE, {"input": {"code": "S1", "name": "Main"}})
    store_id = created["data"]["createStore"]["store"]["id"]
    update = """
    mutation($input: UpdateStoreInput!) {
      updateStore(input: $input) { store { id } userErrors { field code } }
    }
    """
    for zone in ("Asia", "America/", "x" * 300, "Mars/Olympus", "../UTC", "asia/shanghai"):
        body = await gql(
            client, token, CREATE, {"input": {"code": "S2", "name": "B", "timezone": zone}}
        )
        assert "errors" not in body, (zone, body["errors"])
        refused = body["data"]["createStore"]
        assert refused["store"] is None
        assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
            (["input", "timezone"], "INVALID_TIMEZONE")
        ], zone
        body = await gql(client, token, update, {"input": {"id": store_id, "timezone": zone}})
        assert "errors" not in body, (zone, body["errors"])
        assert body["data"]["updateStore"]["userErrors"] == [
            {"field": ["input", "timezone"], "code": "INVALID_TIMEZONE"}
        ], zone
    fine = await gql(
        client, token, CREATE, {"input": {"code": "S3", "name": "C", "timezone": "Europe/Paris"}}
    )
    assert fine["data"]["createStore"]["store"]["timezone"] == "Europe/Paris"
