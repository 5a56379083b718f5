"""Administering roles held at a store: assign and unassign per store, validation, the
assignment list, explainAccess at a store, the audit of store denials, API keys held
at a store, (propagation to another server process: test_propagation.py)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from kernel.app import Runtime
from tests.builders import open_shop
from tests.conftest import TenantFixture, gql
from tests.kernel.test_access_admin import change, codes, create_role, grant
from tests.kernel.test_api_keys import CREATE, ROTATE, admin_call, issue

ASSIGNMENTS = """query($s: String, $store: ID) { roleAssignments(subject: $s, storeId: $store)
  { subject role storeId } }"""
EXPLAIN = """query($s: String!, $o: String!, $a: String!, $store: ID) {
  explainAccess(subject: $s, object: $o, action: $a, storeId: $store)
  { allowed matchedRule roles } }"""


async def assign_at(
    client: httpx.AsyncClient, token: str, subject: str, role: str, store: str | None
) -> dict[str, Any]:
    return await change(
        client,
        token,
        "assignRole",
        "RoleAssignmentInput",
        {"subject": subject, "role": role, "storeId": store},
    )


async def test_stores_are_validated_and_tenant_admin_is_never_held_at_a_store(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    foreign = await open_shop(other_tenant, stock=0)
    for store in (str(foreign.store_id), str(uuid.uuid4()), "not-an-id"):
        refused = await assign_at(client, admin, "user:zed", "cashier", store)
        assert codes(refused) == ["STORE_NOT_FOUND"], store
        assert refused["userErrors"][0]["field"] == ["input", "storeId"]
    own = await open_shop(tenant, stock=0)
    for role in ("tenant_admin", "customer"):
        refused = await assign_at(client, admin, "user:zed", role, str(own.store_id))
        assert codes(refused) == ["ROLE_NOT_STORE_SCOPED"], role
    refused = await assign_at(client, admin, "user:zed", "platform_admin", str(own.store_id))
    assert codes(refused) == ["PLATFORM_ROLE"]
    listed = await gql(client, admin, ASSIGNMENTS, {"s": "user:zed"})
    assert listed["data"]["roleAssignments"] == []


async def test_assignments_list_their_store_and_filter_by_store(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    north, south = await open_shop(tenant, stock=0), await open_shop(tenant, stock=0)
    await create_role(client, admin, "auditor")
    await grant(client, admin, "auditor", "order.order", "read_any")
    first = await assign_at(client, admin, "user:yan", "cashier", str(north.store_id))
    again = await assign_at(client, admin, "user:yan", "cashier", str(north.store_id))
    assert codes(first) == codes(again) == []  # idempotent
    await assign_at(client, admin, "user:yan", "auditor", str(south.store_id))
    await assign_at(client, admin, "user:yan", "customer", None)

    every = (await gql(client, admin, ASSIGNMENTS, {"s": "user:yan"}))["data"]["roleAssignments"]
    assert sorted((a["role"], a["storeId"]) for a in every) == sorted(
        [("cashier", str(north.store_id)), ("auditor", str(south.store_id)), ("customer", None)]
    )
    at_north = await gql(
        client, admin, ASSIGNMENTS, {"s": "user:yan", "store": str(north.store_id)}
    )
    assert {(a["role"], a["storeId"]) for a in at_north["data"]["roleAssignments"]} == {
        ("cashier", str(north.store_id)),
        ("customer", None),
    }


async def test_explain_access_decides_at_a_store_and_names_the_rule(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    north, south = await open_shop(tenant, stock=0), await open_shop(tenant, stock=0)
    await assign_at(client, admin, "user:xia", "store_manager", str(north.store_id))

    async def explain(obj: str, action: str, store: uuid.UUID | None) -> dict[str, Any]:
        variables = {"s": "user:xia", "o": obj, "a": action, "store": store and str(store)}
        body = await gql(client, admin, EXPLAIN, variables)
        assert "errors" not in body, body
        found: dict[str, Any] = body["data"]["explainAccess"]
        return found

    there = await explain("stock.level", "adjust", north.store_id)
    assert there["allowed"] is True
    assert there["matchedRule"] == (
        f"allow role:store_manager stock.level:adjust (at store {north.store_id})"
    )
    assert there["roles"] == [f"role:store_manager (store {north.store_id})"]
    elsewhere = await explain("stock.level", "adjust", south.store_id)
    assert elsewhere["allowed"] is False
    assert elsewhere["matchedRule"] == "default deny: no rule allows it"
    tenant_wide = await explain("stock.level", "adjust", None)
    assert tenant_wide["allowed"] is False
    shared = await explain("product.product", "read", None)
    assert shared["allowed"] is True and "held at a store" in shared["matchedRule"]
    bad = await gql(
        client, admin, EXPLAIN, {"s": "user:xia", "o": "stock.level", "a": "adjust", "store": "x"}
    )
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_ID"


async def test_a_refusal_at_another_store_is_audited_with_the_store(
    client: httpx.AsyncClient, runtime: Runtime, tenant: TenantFixture
) -> None:
    north, south = await open_shop(tenant, stock=0), await open_shop(tenant, stock=0)
    manager = await tenant.store_token("store_manager", north.store_id, sub="mgr-north")
    adjust = (
        """mutation($i: AdjustStockInput!) { adjustStock(input: $i) { userErrors { code } } }"""
    )
    sample = {
        "idempotencyKey": "k-1",
        "storeId": str(south.store_id),
        "skuId": str(north.sku_ids[0]),
        "delta": 1,
        "reason": "received",
    }
    body = await gql(client, manager, adjust, {"i": sample})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    await runtime.policies.audit.flush()
    admin = await tenant.token("tenant_admin")
    log = await gql(
        client,
        admin,
        '{ auditLog(first: 5, result: DENIED, subject: "user:mgr-north") { edges { node '
        "{ object action matchedRule detail } } } }",
    )
    entries = [e["node"] for e in log["data"]["auditLog"]["edges"]]
    assert [(e["object"], e["action"]) for e in entries] == [("stock.level", "adjust")]
    assert f'"storeId": "{south.store_id}"' in entries[0]["detail"]


async def test_an_api_key_held_at_a_store_keeps_its_store_when_rotated(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    north = await open_shop(tenant, stock=0)
    foreign = await open_shop(other_tenant, stock=0)
    refused = await issue(client, tenant, "pos-x", store_id=str(foreign.store_id))
    assert codes(refused) == ["STORE_NOT_FOUND"] and refused["key"] is None

    issued = await issue(client, tenant, "pos-north", store_id=str(north.store_id))
    assert codes(issued) == [] and issued["apiKey"]["storeId"] == str(north.store_id)
    mixed = await issue(client, tenant, "pos-north")  # same account, tenant-wide: no
    assert codes(mixed) == ["ROLE_MISMATCH"]
    rotated = await admin_call(client, tenant, ROTATE, {"i": {"id": issued["apiKey"]["id"]}})
    assert rotated["data"]["rotateApiKey"]["userErrors"] == []
    keys = await admin_call(
        client, tenant, '{ apiKeys(serviceAccount: "pos-north") { storeId } }', {}
    )
    assert {k["storeId"] for k in keys["data"]["apiKeys"]} == {str(north.store_id)}
    assert CREATE  # the issuing mutation the helpers use
