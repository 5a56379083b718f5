"""CORS: a browser front end on an allowed origin can call /graphql; others cannot;
nothing is open by default outside development (kernel.app.cors_middleware)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from kernel.settings import Settings
from schema.subgraphs import served_api
from tests.conftest import TenantFixture

SHOP = "https://shop.example.com"
PREFLIGHT = {
    "origin": SHOP,
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type",
}


@asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from kernel.app import create_app

    app = create_app(served_api(), settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield client


async def test_an_allowed_origin_gets_its_preflight_and_its_answer(
    settings: Settings, tenant: TenantFixture
) -> None:
    configured = settings.model_copy(update={"cors_allowed_origins": [SHOP]})
    async with _serving(configured) as client:
        preflight = await client.options("/graphql", headers=PREFLIGHT)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == SHOP
        assert "POST" in preflight.headers["access-control-allow-methods"]
        allowed_headers = preflight.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed_headers and "content-type" in allowed_headers
        assert "access-control-allow-credentials" not in preflight.headers
        token = await tenant.token("tenant_admin")
        answer = await client.post(
            "/graphql",
            json={"query": "{ tenant { slug } }"},
            headers={"origin": SHOP, "authorization": f"Bearer {token}"},
        )
        assert answer.json()["data"]["tenant"]["slug"] == tenant.slug
        assert answer.headers["access-control-allow-origin"] == SHOP
        assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()

        elsewhere = {**PREFLIGHT, "origin": "https://evil.example"}
        refused = await client.options("/graphql", headers=elsewhere)
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        other = await client.post(
            "/graphql",
            json={"query": "{ tenant { slug } }"},
            headers={"origin": "https://evil.example", "authorization": f"Bearer {token}"},
        )
        assert "access-control-allow-origin" not in other.headers


async def test_nothing_is_open_by_default_outside_development(settings: Settings) -> None:
    assert Settings(environment="production").cors_origins == []
    assert Settings(environment="development").cors_origins == ["*"]
    assert settings.cors_allowed_origins is None and settings.cors_origins == []
    async with _serving(settings) as client:
        preflight = await client.options("/graphql", headers=PREFLIGHT)
        assert preflight.status_code == 400
        assert "access-control-allow-origin" not in preflight.headers


async def test_an_origin_pattern_allows_every_matching_sub_domain(settings: Settings) -> None:
    pattern = r"https://[a-z0-9-]+\.shop\.example\.com"
    configured = settings.model_copy(update={"cors_allowed_origin_regex": pattern})
    async with _serving(configured) as client:
        store = {**PREFLIGHT, "origin": "https://sh-001.shop.example.com"}
        allowed = await client.options("/graphql", headers=store)
        assert allowed.headers["access-control-allow-origin"] == store["origin"]
        lookalike = {**PREFLIGHT, "origin": "https://sh-001.shop.example.com.evil.example"}
        assert (await client.options("/graphql", headers=lookalike)).status_code == 400
