"""API keys of service accounts: hashed, one tenant, least privilege, expiry, rotation,
revocation at once."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import sqlalchemy as sa

from kernel.app import Runtime
from tests.conftest import TenantFixture

STORES = "{ stores(first: 1) { edges { cursor } } }"
CREATE = """mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) {
  key apiKey { id serviceAccount role expiresAt storeId } policyVersion userErrors { code } } }"""
ROTATE = """mutation($i: RotateApiKeyInput!) { rotateApiKey(input: $i) {
  key apiKey { id } userErrors { code } } }"""
REVOKE = """mutation($i: RevokeApiKeyInput!) { revokeApiKey(input: $i) {
  apiKey { revokedAt } userErrors { code } } }"""


async def post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={k.replace("_", "-"): v for k, v in headers.items()},
    )
    body: dict[str, Any] = response.json()
    body["_status"] = response.status_code
    return body


async def issue(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    account: str,
    role: str = "cashier",
    store_id: str | None = None,
) -> dict[str, Any]:
    """A key for ``account`` holding ``role`` tenant-wide, or at ``store_id``."""
    admin = await tenant.token("tenant_admin")
    body = await post(
        client,
        CREATE,
        {
            "i": {
                "serviceAccount": account,
                "name": f"{account} key",
                "role": role,
                "storeId": store_id,
            }
        },
        authorization=f"Bearer {admin}",
    )
    payload: dict[str, Any] = body["data"]["createApiKey"]
    return payload


async def admin_call(
    client: httpx.AsyncClient, tenant: TenantFixture, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    admin = await tenant.token("tenant_admin")
    return await post(client, query, variables, authorization=f"Bearer {admin}")


async def test_a_key_authenticates_its_service_account_by_either_header(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    issued = await issue(client, tenant, "pos-1")
    assert issued["userErrors"] == []
    key = issued["key"]
    assert key.startswith("zt_") and issued["apiKey"]["serviceAccount"] == "pos-1"
    by_header = await post(client, STORES, x_api_key=key)
    by_bearer = await post(client, STORES, authorization=f"Bearer {key}")
    assert "errors" not in by_header and "errors" not in by_bearer
    # Least privilege: a cashier key cannot manage products.
    manage = await post(
        client,
        'mutation { createProduct(input: {name: "x", skus: []}) { userErrors { code } } }',
        x_api_key=key,
    )
    assert manage["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_only_a_keyed_hash_of_the_key_is_stored(
    client: httpx.AsyncClient, runtime: Runtime, tenant: TenantFixture
) -> None:
    issued = await issue(client, tenant, "plugin-erp")
    async with runtime.db.unit_of_work() as session:
        row = (
            await session.execute(
                sa.text("SELECT * FROM kernel.api_key WHERE tenant_id = :t"), {"t": tenant.id}
            )
        ).one()
    stored = " ".join(str(v) for v in row)
    secret = issued["key"].split(".", 1)[1]
    assert secret not in stored and issued["key"] not in stored
    assert len(row.key_hash) == 64


async def test_revocation_takes_effect_on_the_next_request(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    issued = await issue(client, tenant, "pos-2")
    assert "errors" not in await post(client, STORES, x_api_key=issued["key"])
    revoked = await admin_call(client, tenant, REVOKE, {"i": {"id": issued["apiKey"]["id"]}})
    assert revoked["data"]["revokeApiKey"]["apiKey"]["revokedAt"]
    refused = await post(client, STORES, x_api_key=issued["key"])
    assert refused["_status"] == 401
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_rotation_keeps_two_live_keys_and_no_more(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    first = await issue(client, tenant, "pos-3")
    rotated = await admin_call(client, tenant, ROTATE, {"i": {"id": first["apiKey"]["id"]}})
    second = rotated["data"]["rotateApiKey"]
    assert second["userErrors"] == []
    for key in (first["key"], second["key"]):
        assert "errors" not in await post(client, STORES, x_api_key=key)
    third = await admin_call(client, tenant, ROTATE, {"i": {"id": first["apiKey"]["id"]}})
    assert third["data"]["rotateApiKey"]["userErrors"][0]["code"] == "TOO_MANY_LIVE_KEYS"
    await admin_call(client, tenant, REVOKE, {"i": {"id": first["apiKey"]["id"]}})
    again = await admin_call(client, tenant, ROTATE, {"i": {"id": second["apiKey"]["id"]}})
    assert again["data"]["rotateApiKey"]["userErrors"] == []


async def test_broad_roles_are_refused_for_keys(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    for role, code in (
        ("tenant_admin", "ROLE_TOO_BROAD"),
        ("platform_admin", "PLATFORM_ROLE"),
        ("no_such_role", "ROLE_NOT_FOUND"),
    ):
        issued = await issue(client, tenant, f"svc-{role.replace('_', '-')}", role=role)
        assert [e["code"] for e in issued["userErrors"]] == [code], role
    bad_account = await issue(client, tenant, "POS 1, t2")
    assert bad_account["userErrors"][0]["code"] == "INVALID_SERVICE_ACCOUNT"


async def test_expired_tampered_and_foreign_keys_are_refused_alike(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
) -> None:
    issued = await issue(client, tenant, "pos-4")
    key: str = issued["key"]
    locator, secret = key.removeprefix("zt_").split(".", 1)
    tampered = f"zt_{locator}.{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"
    raw = base64.urlsafe_b64decode(locator + "=")
    moved = base64.urlsafe_b64encode(other_tenant.id.bytes + raw[16:]).decode().rstrip("=")
    unknown = base64.urlsafe_b64encode(raw[:16] + uuid.uuid4().bytes).decode().rstrip("=")
    for forged in (tampered, f"zt_{moved}.{secret}", f"zt_{unknown}.{secret}", "zt_x.y", "zt_"):
        refused = await post(client, STORES, x_api_key=forged)
        assert refused["_status"] == 401, forged
        assert refused["errors"][0]["message"] == "invalid API key", forged

    async with runtime.db.unit_of_work() as session:
        await session.execute(
            sa.text(
                "UPDATE kernel.api_key SET expires_at = now() - interval '1 second' "
                "WHERE tenant_id = :t"
            ),
            {"t": tenant.id},
        )
    expired = await post(client, STORES, x_api_key=key)
    assert expired["_status"] == 401
    assert expired["errors"][0]["message"] == "invalid API key"


async def test_keys_are_listed_without_secrets_and_only_in_their_tenant(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    issued = await issue(client, tenant, "pos-5")
    listed = await admin_call(client, tenant, "{ apiKeys { id serviceAccount role } }", {})
    assert listed["data"]["apiKeys"] == [
        {"id": issued["apiKey"]["id"], "serviceAccount": "pos-5", "role": "cashier"}
    ]
    theirs = await admin_call(client, other_tenant, "{ apiKeys { id } }", {})
    assert theirs["data"]["apiKeys"] == []
    steal = await admin_call(client, other_tenant, REVOKE, {"i": {"id": issued["apiKey"]["id"]}})
    assert steal["data"]["revokeApiKey"]["userErrors"][0]["code"] == "API_KEY_NOT_FOUND"
