"""The access admin API: roles, grants, assignments, validation, audit, explainAccess."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from kernel.app import Runtime
from tests.conftest import TenantFixture, gql

STORES = "{ stores(first: 1) { edges { cursor } } }"

CHANGE = """
mutation($i: {input}!) {{ {name}(input: $i) {{ policyVersion userErrors {{ field code message }} }} }}
"""


async def change(
    client: httpx.AsyncClient, token: str, name: str, input_type: str, value: dict[str, Any]
) -> dict[str, Any]:
    body = await gql(client, token, CHANGE.format(name=name, input=input_type), {"i": value})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][name]
    return payload


async def create_role(client: httpx.AsyncClient, token: str, name: str) -> dict[str, Any]:
    return await change(client, token, "createRole", "CreateRoleInput", {"name": name})


async def grant(
    client: httpx.AsyncClient, token: str, role: str, obj: str, action: str
) -> dict[str, Any]:
    return await change(
        client,
        token,
        "grantPermission",
        "RolePermissionInput",
        {"role": role, "object": obj, "action": action},
    )


async def revoke(
    client: httpx.AsyncClient, token: str, role: str, obj: str, action: str
) -> dict[str, Any]:
    return await change(
        client,
        token,
        "revokePermission",
        "RolePermissionInput",
        {"role": role, "object": obj, "action": action},
    )


async def assign(client: httpx.AsyncClient, token: str, subject: str, role: str) -> dict[str, Any]:
    return await change(
        client, token, "assignRole", "RoleAssignmentInput", {"subject": subject, "role": role}
    )


async def eventually(client: httpx.AsyncClient, token: str, query: str, *, allowed: bool) -> None:
    """Policy changes reach this process by NOTIFY; wait for it (well under a second)."""
    for _ in range(40):
        body = await gql(client, token, query)
        if ("errors" not in body) == allowed:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"still {'denied' if allowed else 'allowed'}: {body}")


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def test_custom_role_granted_and_assigned_lets_its_holder_in(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    clerk = await tenant.token(None, sub="clerk")
    assert (await gql(client, clerk, STORES))["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    created = await create_role(client, admin, "store_viewer")
    granted = await grant(client, admin, "store_viewer", "store.store", "read")
    assigned = await assign(client, admin, "user:clerk", "store_viewer")

    assert codes(created) == codes(granted) == codes(assigned) == []
    # Every rule change moves the tenant's policy version forward, and writes return it.
    assert created["policyVersion"] < granted["policyVersion"] < assigned["policyVersion"]
    await eventually(client, clerk, STORES, allowed=True)


@pytest.mark.parametrize(
    "name",
    [
        "viewer, t1",
        "viewer,t1",
        "ad*",
        "*",
        " viewer",
        "viewer ",
        "Viewer",
        "a\tb",
        "role:x",
        "",
        "x" * 64,
    ],
)
async def test_malformed_role_names_are_refused(
    client: httpx.AsyncClient, tenant: TenantFixture, name: str
) -> None:
    admin = await tenant.token("tenant_admin")
    assert codes(await create_role(client, admin, name)) == ["INVALID_ROLE_NAME"]


@pytest.mark.parametrize(
    "subject",
    [
        "user:alice, t1",
        "user:*",
        "user: alice",
        "user:alice bob",
        "group:x",
        "alice",
        "role:x",
        "user:",
    ],
)
async def test_malformed_subjects_are_refused(
    client: httpx.AsyncClient, tenant: TenantFixture, subject: str
) -> None:
    admin = await tenant.token("tenant_admin")
    assert codes(await assign(client, admin, subject, "cashier")) == ["INVALID_SUBJECT"]


@pytest.mark.parametrize(
    ("obj", "action"),
    [
        ("order.*", "read"),
        ("*", "*"),
        ("order.order", "*"),
        ("order.order", "read, write"),
        ("platform.tenant", "manage"),  # a tenant never grants platform permissions
        ("order.nothing", "read"),
    ],
)
async def test_only_declared_tenant_permissions_can_be_granted(
    client: httpx.AsyncClient, tenant: TenantFixture, obj: str, action: str
) -> None:
    admin = await tenant.token("tenant_admin")
    assert codes(await grant(client, admin, "cashier", obj, action)) == ["UNKNOWN_PERMISSION"]


async def test_platform_roles_and_unknown_roles_cannot_be_assigned_by_a_tenant(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    assert codes(await assign(client, admin, "user:x", "platform_admin")) == ["PLATFORM_ROLE"]
    assert codes(await assign(client, admin, "user:x", "ghost")) == ["ROLE_NOT_FOUND"]


async def test_revoking_a_built_in_grant_denies_it_and_granting_restores_it(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    manager = await tenant.token("store_manager")
    await eventually(client, manager, STORES, allowed=True)
    assert codes(await revoke(client, admin, "store_manager", "store.store", "read")) == []
    await eventually(client, manager, STORES, allowed=False)
    assert codes(await grant(client, admin, "store_manager", "store.store", "read")) == []
    await eventually(client, manager, STORES, allowed=True)


async def test_renamed_role_keeps_its_holders_and_deleted_role_drops_them(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    clerk = await tenant.token(None, sub="clerk2")
    await create_role(client, admin, "viewer")
    await grant(client, admin, "viewer", "store.store", "read")
    await assign(client, admin, "user:clerk2", "viewer")
    await eventually(client, clerk, STORES, allowed=True)

    renamed = await change(
        client, admin, "renameRole", "RenameRoleInput", {"name": "viewer", "newName": "looker"}
    )
    assert codes(renamed) == []
    await eventually(client, clerk, STORES, allowed=True)
    roles = await gql(client, admin, '{ roleAssignments(subject: "user:clerk2") { role } }')
    assert roles["data"]["roleAssignments"] == [{"role": "looker"}]

    deleted = await change(client, admin, "deleteRole", "DeleteRoleInput", {"name": "looker"})
    assert codes(deleted) == []
    await eventually(client, clerk, STORES, allowed=False)


async def test_built_in_roles_cannot_be_renamed_or_deleted(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    deleted = await change(client, admin, "deleteRole", "DeleteRoleInput", {"name": "cashier"})
    assert codes(deleted) == ["BUILTIN_ROLE"]
    taken = await create_role(client, admin, "cashier")
    assert codes(taken) == ["ROLE_EXISTS"]


async def test_a_tenants_grants_never_reach_another_tenant(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    a_admin = await tenant.token("tenant_admin")
    await create_role(client, a_admin, "viewer")
    await grant(client, a_admin, "viewer", "store.store", "read")
    await assign(client, a_admin, "user:shared", "viewer")
    in_a = await tenant.token(None, sub="shared")
    in_b = await other_tenant.token(None, sub="shared")  # same subject id, other tenant
    await eventually(client, in_a, STORES, allowed=True)
    assert (await gql(client, in_b, STORES))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    b_admin = await other_tenant.token("tenant_admin")
    b_roles = await gql(client, b_admin, "{ accessRoles { name } }")
    assert "viewer" not in {r["name"] for r in b_roles["data"]["accessRoles"]}


async def test_non_admins_cannot_administer_and_the_denial_is_audited(
    client: httpx.AsyncClient, runtime: Runtime, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier", sub="cash1")
    body = await gql(
        client,
        cashier,
        CHANGE.format(name="createRole", input="CreateRoleInput"),
        {"i": {"name": "boss"}},
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await runtime.policies.audit.flush()
    admin = await tenant.token("tenant_admin")
    log = await gql(
        client,
        admin,
        '{ auditLog(first: 10, result: DENIED, subject: "user:cash1") { edges { node '
        "{ subject object action result matchedRule policyVersion requestId } } } }",
    )
    assert len(log["data"]["auditLog"]["edges"]) == 1
    someone_else = await gql(
        client,
        admin,
        '{ auditLog(first: 10, subject: "user:nobody-here") { edges { cursor } } }',
    )
    assert someone_else["data"]["auditLog"]["edges"] == []
    entries = [e["node"] for e in log["data"]["auditLog"]["edges"]]
    assert {
        "subject": "user:cash1",
        "object": "access.role",
        "action": "manage",
        "result": "DENIED",
        "matchedRule": "default deny: no rule allows it",
    }.items() <= entries[0].items()
    assert entries[0]["requestId"]
    assert entries[0]["policyVersion"] >= 1


async def test_every_admin_change_is_audited_with_its_version(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin", sub="boss")
    await create_role(client, admin, "auditor")
    granted = await grant(client, admin, "auditor", "order.order", "read_any")
    log = await gql(
        client,
        admin,
        "{ auditLog(first: 5, result: CHANGED) { edges { node "
        "{ subject object action policyVersion detail } } } }",
    )
    newest = log["data"]["auditLog"]["edges"][0]["node"]
    assert newest["subject"] == "user:boss"
    assert (newest["object"], newest["action"]) == ("access.grant", "grant")
    assert newest["policyVersion"] == granted["policyVersion"]
    assert '"permission": "order.order:read_any"' in newest["detail"]


async def test_explain_access_names_the_deciding_rule(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    await tenant.token("store_manager", sub="mgr7")
    query = """query($s: String!) { explainAccess(subject: $s, object: "store.store", action: "read")
      { allowed matchedRule roles policyVersion } }"""
    allowed = (await gql(client, admin, query, {"s": "user:mgr7"}))["data"]["explainAccess"]
    assert allowed["allowed"] is True
    assert allowed["matchedRule"] == "allow role:store_manager store.store:read (tenant)"
    assert allowed["roles"] == ["role:store_manager"]

    await revoke(client, admin, "store_manager", "store.store", "read")
    for _ in range(40):
        denied = (await gql(client, admin, query, {"s": "user:mgr7"}))["data"]["explainAccess"]
        if not denied["allowed"]:
            break
        await asyncio.sleep(0.025)
    assert denied["matchedRule"] == "deny role:store_manager store.store:read (tenant)"
    assert denied["policyVersion"] > allowed["policyVersion"]
    nobody = (await gql(client, admin, query, {"s": "user:nobody"}))["data"]["explainAccess"]
    assert nobody == {
        "allowed": False,
        "matchedRule": "default deny: no rule allows it",
        "roles": [],
        "policyVersion": denied["policyVersion"],
    }


async def test_platform_admin_creates_and_lists_tenants_but_tenant_admins_cannot(
    client: httpx.AsyncClient, runtime: Runtime, tenant: TenantFixture
) -> None:
    operator = await tenant.token("platform_admin", sub=f"op-{uuid.uuid4().hex[:6]}")
    slug = f"new-{uuid.uuid4().hex[:8]}"
    created = await gql(
        client,
        operator,
        """mutation($i: CreateTenantInput!) { createTenant(input: $i) {
             tenant { id slug } userErrors { code } } }""",
        {"i": {"slug": slug, "name": "New brand", "adminSubject": "user:founder"}},
    )
    new_tenant = created["data"]["createTenant"]["tenant"]
    assert new_tenant["slug"] == slug
    listed = await gql(
        client, operator, "{ platformTenants(first: 100) { edges { node { slug } } } }"
    )
    assert listed["data"]["platformTenants"]["edges"]  # the directory spans tenants
    async with runtime.db.unit_of_work() as session:
        founder = await session.scalar(
            sa.text(
                "SELECT object FROM kernel.policy_rule WHERE tenant_id = :t AND subject = 'user:founder'"
            ),
            {"t": uuid.UUID(new_tenant["id"])},
        )
    assert founder == "role:tenant_admin"

    admin = await tenant.token("tenant_admin")
    refused = await gql(client, admin, "{ platformTenants(first: 5) { edges { cursor } } }")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    taken = await gql(
        client,
        operator,
        """mutation($i: CreateTenantInput!) { createTenant(input: $i) { userErrors { code } } }""",
        {"i": {"slug": slug, "name": "Again"}},
    )
    assert taken["data"]["createTenant"]["userErrors"][0]["code"] == "SLUG_TAKEN"


async def test_platform_admins_are_managed_by_platform_admins_only(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    me = f"op-{uuid.uuid4().hex[:6]}"
    operator = await tenant.token("platform_admin", sub=me)
    newcomer = f"op-{uuid.uuid4().hex[:6]}"
    newcomer_token = await other_tenant.token(None, sub=newcomer)
    listing = "{ platformTenants(first: 1) { edges { cursor } } }"
    assert (await gql(client, newcomer_token, listing))["errors"][0]["extensions"][
        "code"
    ] == "FORBIDDEN"

    assigned = await change(
        client,
        operator,
        "assignPlatformAdmin",
        "PlatformAdminInput",
        {"subject": f"user:{newcomer}"},
    )
    assert codes(assigned) == []
    await eventually(client, newcomer_token, listing, allowed=True)
    admins = await gql(client, operator, "{ platformAdmins }")
    assert f"user:{newcomer}" in admins["data"]["platformAdmins"]

    removed = await change(
        client,
        operator,
        "unassignPlatformAdmin",
        "PlatformAdminInput",
        {"subject": f"user:{newcomer}"},
    )
    assert codes(removed) == [] and removed["policyVersion"] > assigned["policyVersion"]
    await eventually(client, newcomer_token, listing, allowed=False)
    self_removal = await change(
        client, operator, "unassignPlatformAdmin", "PlatformAdminInput", {"subject": f"user:{me}"}
    )
    assert codes(self_removal) == ["CANNOT_REMOVE_SELF"]

    tenant_admin = await tenant.token("tenant_admin")
    refused = await gql(
        client,
        tenant_admin,
        CHANGE.format(name="assignPlatformAdmin", input="PlatformAdminInput"),
        {"i": {"subject": "user:sneaky"}},
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
