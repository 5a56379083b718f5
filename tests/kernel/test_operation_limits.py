"""Operation limits: tokens, cost, introspection, and rate limits per tenant and per key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kernel.app import Runtime
from kernel.authn import Authenticator
from kernel.graphql.http import GraphQLEndpoint
from kernel.graphql.limits import RateLimiter
from kernel.settings import Settings
from tests.conftest import TenantFixture, gql
from tests.kernel.test_api_keys import issue

STORES = "{ stores(first: 1) { edges { cursor } } }"


@pytest.fixture
async def limited(runtime: Runtime, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The composed schema behind an endpoint with tiny limits, sharing the database."""
    tight = settings.model_copy(
        update={
            "rate_limit_tenant_per_second": 1.0,
            "rate_limit_tenant_burst": 6,
            "rate_limit_caller_per_second": 1.0,
            "rate_limit_caller_burst": 3,
            "introspection": True,
        }
    )
    endpoint = GraphQLEndpoint(
        runtime.composed.schema,
        settings=tight,
        db=runtime.db,
        authenticator=Authenticator(tight),
        policies=runtime.policies,
    )

    async def serve(request: Request) -> Response:
        return await endpoint(request)

    app = Starlette(routes=[Route("/graphql", serve, methods=["GET", "POST"])])
    app.state.runtime = runtime
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://limited.test"
    ) as client:
        yield client


async def test_an_operation_over_the_cost_budget_is_refused_before_running(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    # Two pages of 100 products, each SKU list and spec list counted as 10: 42,602 > 20,000,
    # though shallow and nearly alias-free.
    page = "products(first: 100) { edges { node { skus { specs { name value } } } } }"
    expensive = f"{{ a: {page} b: {page} }}"
    body = await gql(client, token, expensive)
    assert body["errors"][0]["extensions"]["code"] == "BAD_OPERATION"
    assert "cost" in body["errors"][0]["message"]
    assert body.get("data") is None
    cheap = await gql(client, token, STORES)
    assert "errors" not in cheap


async def test_a_connection_page_counts_once_so_a_menu_query_fits_the_budget(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    menu = (
        "{ products(first: 10) { edges { cursor node { id name "
        "skus { id name price { amount } specs { name value } } } } pageInfo { hasNextPage } } }"
    )
    body = await gql(client, token, menu)
    assert "errors" not in body, body


# A page as a gateway sends it: every argument arrives as a variable. At 100 products
# it costs 21,401 (over the 20,000 budget); at 4, 857.
_PRODUCTS_BY_VARIABLE = (
    "query Products($n: Int) { products(first: $n) { edges { node { id "
    "skus { specs { name value } } } } } }"
)


async def test_page_sizes_given_as_variables_cost_what_they_ask_for(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    # At first: 4 the page fits the budget; counted as 100 (the old rule) it did not.
    small = await gql(client, token, _PRODUCTS_BY_VARIABLE, {"n": 4})
    assert "errors" not in small, small
    assert small["data"]["products"]["edges"] == []
    # The same document with a large page is still refused, before running.
    large = await gql(client, token, _PRODUCTS_BY_VARIABLE, {"n": 100})
    assert large["errors"][0]["extensions"]["code"] == "BAD_OPERATION"
    assert "cost" in large["errors"][0]["message"]
    assert large.get("data") is None


async def test_a_page_size_variables_default_counts_when_the_request_leaves_it_out(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    with_default = _PRODUCTS_BY_VARIABLE.replace("$n: Int)", "$n: Int = 3)")
    assert "errors" not in await gql(client, token, with_default)
    over = with_default.replace("= 3)", "= 100)")
    body = await gql(client, token, over)
    assert body["errors"][0]["extensions"]["code"] == "BAD_OPERATION"


async def test_an_operation_over_the_token_limit_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    huge = "{ " + " ".join("__typename" for _ in range(3000)) + " }"
    body = await gql(client, token, huge)
    assert body["errors"][0]["extensions"]["code"] == "BAD_OPERATION"


async def test_introspection_is_off_outside_development(
    client: httpx.AsyncClient, limited: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    refused = await gql(client, token, "{ __schema { queryType { name } } }")
    assert refused["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
    by_type = await gql(client, token, '{ __type(name: "Order") { name } }')
    assert by_type["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
    assert "errors" not in await gql(client, token, "{ __typename }")
    # An endpoint configured for it (development) answers.
    allowed = await gql(limited, token, "{ __schema { queryType { name } } }")
    assert allowed["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_a_caller_over_its_rate_is_answered_rate_limited(
    limited: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    statuses = [(await gql(limited, token, STORES))["_status"] for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    body = await gql(limited, token, STORES)
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_the_tenant_rate_caps_all_its_callers_but_not_other_tenants(
    limited: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    tokens = [await tenant.token("cashier") for _ in range(4)]
    statuses = [(await gql(limited, t, STORES))["_status"] for t in tokens for _ in range(2)]
    assert statuses.count(200) == 6 and statuses.count(429) == 2
    elsewhere = await gql(limited, await other_tenant.token("cashier"), STORES)
    assert elsewhere["_status"] == 200


async def test_each_api_key_has_its_own_rate(
    client: httpx.AsyncClient, limited: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    first = (await issue(client, tenant, "pos-rate-1"))["key"]
    second = (await issue(client, tenant, "pos-rate-2"))["key"]

    async def call(key: str) -> int:
        response = await limited.post(
            "/graphql", json={"query": STORES}, headers={"x-api-key": key}
        )
        return response.status_code

    assert [await call(first) for _ in range(4)] == [200, 200, 200, 429]
    assert await call(second) == 200


def test_a_bucket_refills_with_time() -> None:
    limiter = RateLimiter(rate=2.0, burst=2)
    assert limiter.allow("k", now=0.0) == 0.0
    assert limiter.allow("k", now=0.0) == 0.0
    assert limiter.allow("k", now=0.0) == pytest.approx(0.5)
    assert limiter.allow("k", now=0.5) == 0.0
    assert RateLimiter(rate=0, burst=0).allow("k") == 0.0  # 0 turns it off
