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
