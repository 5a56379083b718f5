"""GraphQL over HTTP: methods, media types, limits and error shapes."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx

from kernel.settings import Settings
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


async def test_a_body_nested_100000_levels_deep_is_a_400_graphql_error(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    headers = {
        "authorization": f"Bearer {await tenant.token('tenant_admin')}",
        "content-type": "application/json",
    }
    deep = b'{"query": "{ tenant { slug } }", "variables": {"v": ' + b"[" * 100_000
    deep += b"]" * 100_000 + b"}}"
    response = await client.post("/graphql", content=deep, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "nested too deeply" in error["message"]
    over_get = await client.get(
        "/graphql",
        params={"query": "{ tenant { slug } }", "variables": "[" * 5000 + "]" * 5000},
        headers=headers,
    )
    assert over_get.status_code == 400
    assert over_get.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_body_over_the_limit_is_a_413_json_error(
    client: httpx.AsyncClient, tenant: TenantFixture, settings: Settings
) -> None:
    token = await tenant.token("tenant_admin")
    headers = {"authorization": f"Bearer {token}"}
    big = "x" * (settings.max_request_bytes + 1)
    response = await client.post(
        "/graphql",
        json={"query": "query($v: String) { tenant { slug } }", "variables": {"v": big}},
        headers=headers,
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"query": "{ tenant { slug } }", "variables": {"v": "'
        for _ in range(settings.max_request_bytes // 65536 + 1):
            yield b"y" * 65536
        yield b'"}}'

    streamed = await client.post(
        "/graphql",
        content=chunks(),
        headers={**headers, "content-type": "application/json"},
    )
    assert streamed.status_code == 413
    assert streamed.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    small = await gql(client, token, "{ tenant { slug } }")
    assert small["data"]["tenant"]["slug"] == tenant.slug


async def test_extensions_that_are_not_an_object_are_a_400(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    headers = {"authorization": f"Bearer {await tenant.token('tenant_admin')}"}
    for extensions in ("string", 1, True, []):
        response = await client.post(
            "/graphql",
            json={"query": "{ tenant { slug } }", "extensions": extensions},
            headers=headers,
        )
        assert response.status_code == 400, extensions
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        over_get = await client.get(
            "/graphql",
            params={"query": "{ tenant { slug } }", "extensions": json.dumps(extensions)},
            headers=headers,
        )
        assert over_get.status_code == 400, extensions
    fine = await client.post(
        "/graphql", json={"query": "{ tenant { slug } }", "extensions": {}}, headers=headers
    )
    assert fine.json()["data"]["tenant"]["slug"] == tenant.slug


ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"


async def test_entity_representations_over_the_limit_are_refused(
    client: httpx.AsyncClient, tenant: TenantFixture, settings: Settings
) -> None:
    token = await tenant.token("tenant_admin")
    many = [
        {"__typename": "Store", "id": str(uuid.uuid4())}
        for _ in range(settings.max_entity_representations + 1)
    ]
    body = await gql(client, token, ENTITIES, {"r": many}, path="/subgraphs/store/graphql")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_OPERATION"
    # The limit is per request: aliases do not multiply it.
    half = many[: settings.max_entity_representations // 2 + 1]
    aliased = (
        "query($r: [_Any!]!) { a: _entities(representations: $r) { __typename }"
        " b: _entities(representations: $r) { __typename } }"
    )
    body = await gql(client, token, aliased, {"r": half}, path="/subgraphs/store/graphql")
    assert body["errors"][0]["extensions"]["code"] == "BAD_OPERATION"
    within = await gql(client, token, ENTITIES, {"r": many[:5]}, path="/subgraphs/store/graphql")
    assert within["data"]["_entities"] == [None] * 5


async def test_a_representation_without_id_is_a_client_error(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    for representation, field in (
        ({"__typename": "Order"}, ["representations", "0", "id"]),
        ({"__typename": "Order", "id": 7}, ["representations", "0", "id"]),
        ({"__typename": "Order", "id": str(uuid.uuid4()), "x": 1}, ["representations", "0", "x"]),
        ({"id": str(uuid.uuid4())}, ["representations", "0", "__typename"]),
    ):
        body = await gql(
            client, token, ENTITIES, {"r": [representation]}, path="/subgraphs/order/graphql"
        )
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (representation, body)
        assert error["extensions"]["field"] == field
    literal = '{ _entities(representations: [{__typename: "Order"}]) { __typename } }'
    body = await gql(client, token, literal, path="/subgraphs/order/graphql")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
