"""Every request is authenticated, except /health and /ready."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt
import pytest

from kernel.authn import mint_dev_token
from kernel.settings import Settings
from tests.conftest import TenantFixture

QUERY = {"query": "{ tenant { id } }"}


async def test_health_and_ready_are_open(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/ready")).json() == {"status": "ready"}


@pytest.mark.parametrize("path", ["/graphql", "/subgraphs/order/graphql"])
async def test_no_token_is_401_unauthenticated(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, json=QUERY)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer ", "bearer"],
)
async def test_malformed_credentials_are_401(client: httpx.AsyncClient, authorization: str) -> None:
    response = await client.post("/graphql", json=QUERY, headers={"authorization": authorization})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_expired_wrong_audience_and_wrong_key_tokens_are_401(
    client: httpx.AsyncClient, tenant: TenantFixture, settings: Settings
) -> None:
    expired = mint_dev_token(
        settings, tenant_id=tenant.id, subject_id="x", ttl=timedelta(seconds=-120)
    )
    other_audience = mint_dev_token(
        settings.model_copy(update={"jwt_audience": "someone-else"}),
        tenant_id=tenant.id,
        subject_id="x",
    )
    forged = jwt.encode(
        {**jwt.decode(await tenant.token("tenant_admin"), options={"verify_signature": False})},
        "not-our-secret-but-long-enough-for-hs256-0123456789",
        algorithm="HS256",
    )
    unsigned = jwt.encode(
        jwt.decode(await tenant.token("tenant_admin"), options={"verify_signature": False}),
        key="",
        algorithm="none",
    )
    for token in (expired, other_audience, forged, unsigned):
        response = await client.post(
            "/graphql", json=QUERY, headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, token
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_token_without_tenant_claim_is_401(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = jwt.encode(
        {
            "sub": "x",
            "aud": settings.jwt_audience,
            "iss": settings.jwt_issuer,
            "iat": 0,
            "exp": 4_102_444_800,
        },
        settings.jwt_key(),
        algorithm="HS256",
    )
    response = await client.post(
        "/graphql", json=QUERY, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "sub",
    ["alice, t1", "alice bob", "*", "al*ce", "role:admin", "alice\n", "alıce", " alice", ""],
)
async def test_a_token_whose_subject_could_forge_a_rule_is_401(
    client: httpx.AsyncClient, tenant: TenantFixture, settings: Settings, sub: str
) -> None:
    token = mint_dev_token(settings, tenant_id=tenant.id, subject_id=sub)
    response = await client.post(
        "/graphql", json=QUERY, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401, sub
