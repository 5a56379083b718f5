"""Adversarial review of roles held at a store: what a store-held caller must never
reach (another store's resources, tenant-only capabilities), through the public API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.builders import open_shop
from tests.conftest import TenantFixture
from tests.kernel.test_api_keys import REVOKE, admin_call, issue, post

STOCK = """query($s: ID!) { stockLevels(storeId: $s, first: 5) { edges { node { onHand } } } }"""


def _code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


async def test_a_key_reissued_at_a_store_does_not_keep_the_revoked_keys_reach(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    north, south = await open_shop(tenant, stock=1), await open_shop(tenant, stock=1)
    # The account's first key is tenant-wide; it is revoked, and the account gets a
    # key held at the north store only.
    first = await issue(client, tenant, "pos-a")
    assert first["userErrors"] == []
    await admin_call(client, tenant, REVOKE, {"i": {"id": first["apiKey"]["id"]}})
    second = await issue(client, tenant, "pos-a", store_id=str(north.store_id))
    assert second["userErrors"] == [] and second["apiKey"]["storeId"] == str(north.store_id)
    key = second["key"]
    here = await post(client, STOCK, {"s": str(north.store_id)}, x_api_key=key)
    assert "errors" not in here, here
    there = await post(client, STOCK, {"s": str(south.store_id)}, x_api_key=key)
    assert _code(there) == "FORBIDDEN", there

    # Moved from one store to another: the old store is out of reach too.
    await admin_call(client, tenant, REVOKE, {"i": {"id": second["apiKey"]["id"]}})
    third = await issue(client, tenant, "pos-a", store_id=str(south.store_id))
    assert third["userErrors"] == []
    moved = third["key"]
    assert "errors" not in await post(client, STOCK, {"s": str(south.store_id)}, x_api_key=moved)
    old = await post(client, STOCK, {"s": str(north.store_id)}, x_api_key=moved)
    assert _code(old) == "FORBIDDEN", old
