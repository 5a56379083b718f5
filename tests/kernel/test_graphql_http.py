"""GraphQL over HTTP: methods, media types, limits and error shapes."""

from __future__ import annotations

import httpx

from tests.conftest import TenantFixture, gql


async def test_get_runs_queries_but_not_mutations(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    headers = {"authorization": f"Bearer {token}"}
    ok = await client.get("/graphql", params={"query": "{ tenant { slug } }"}, headers=headers)
    assert ok.json()["data"]["tenant"]["slug"] == tenant.slug
    mutation = 'mutation { createStore(input: {code: "X", name: "X"}) { userErrors { code } } }'
    refused = await client.get("/graphql", params={"query": mutation}, headers=headers)
    assert refused.status_code == 405


async def test_graphql_response_media_type_is_negotiated(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    response = await client.post(
        "/graphql",
        json={"query": "{ tenant { slug } }"},
        headers={"authorization": f"Bearer {token}", "accept": "application/graphql-response+json"},
    )
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    invalid = await client.post(
        "/graphql",
        json={"query": "{ nope }"},
        headers={"authorization": f"Bearer {token}", "accept": "application/graphql-response+json"},
    )
    assert invalid.status_code == 400
    assert invalid.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_bad_requests_get_clear_errors(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    headers = {"authorization": f"Bearer {await tenant.token('tenant_admin')}"}
    not_json = await client.post(
        "/graphql", content=b"{", headers={**headers, "content-type": "application/json"}
    )
    assert not_json.status_code == 400
    assert not_json.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    no_query = await client.post("/graphql", json={"variables": {}}, headers=headers)
    assert no_query.status_code == 400
    syntax = await client.post("/graphql", json={"query": "{ tenant { "}, headers=headers)
    assert syntax.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    bad_variable = await gql(
        client,
        headers["authorization"][7:],
        "query($id: ID!) { store(id: $id) { id } }",
        {"id": None},
    )
    assert bad_variable["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_depth_and_alias_limits(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    token = await tenant.token("tenant_admin")
    deep = "{ orders(first: 1) { edges { node { lines { sku { product { skus { product { skus { product { skus { product { skus { id } } } } } } } } } } } } } }"
    body = await gql(client, token, deep)
    assert body["errors"][0]["extensions"]["code"] == "BAD_OPERATION"
    aliases = "{ " + " ".join(f"a{i}: tenant {{ id }}" for i in range(40)) + " }"
    body = await gql(client, token, aliases)
    assert body["errors"][0]["extensions"]["code"] == "BAD_OPERATION"


async def test_malformed_cursor_is_a_client_error(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    body = await gql(client, token, '{ orders(first: 5, after: "%%%") { edges { cursor } } }')
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    body = await gql(client, token, '{ orders(first: 5, after: "WyJ4Il0") { edges { cursor } } }')
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    body = await gql(client, token, "{ orders(first: 500) { edges { cursor } } }")
    assert body["errors"][0]["extensions"]["code"] == "INVALID_PAGE_SIZE"
