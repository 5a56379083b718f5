"""Casbin decides every root field: deny by default, deny overrides allow."""

from __future__ import annotations

import httpx
from graphql import GraphQLSchema

from kernel.authz.permissions import Permission
from kernel.authz.rules import set_rule
from kernel.graphql.subgraph import declared_requirement, root_types
from schema.subgraphs import SUBGRAPHS
from tests.conftest import TenantFixture, gql


def test_every_root_field_declares_a_permission() -> None:
    missing = []
    for subgraph in SUBGRAPHS:
        schema: GraphQLSchema = subgraph.graphql_schema
        for root in root_types(schema):
            for name, field in root.fields.items():
                if name in ("_entities", "_service"):
                    continue
                if declared_requirement(field) is None:
                    missing.append(f"{subgraph.name}: {root.name}.{name}")
    assert missing == []


def test_every_entity_declares_a_reference_permission() -> None:
    for subgraph in SUBGRAPHS:
        entity_union = subgraph.graphql_schema.type_map.get("_Entity")
        names = {t.name for t in getattr(entity_union, "types", [])}
        assert names == set(subgraph.entity_permissions), subgraph.name


async def test_token_without_grant_is_forbidden(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token(None)
    body = await gql(client, token, "{ stores(first: 1) { edges { cursor } } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None


async def test_deny_rule_overrides_a_role_grant(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("store_manager", sub="mgr")
    allowed = await gql(client, token, "{ stores(first: 1) { edges { cursor } } }")
    assert "errors" not in allowed
    async with tenant.runtime.db.unit_of_work() as session:
        await set_rule(session, tenant.id, "user:mgr", Permission("store.store", "read"), "deny")
    tenant.runtime.policies.invalidate(tenant.id)
    denied = await gql(client, token, "{ stores(first: 1) { edges { cursor } } }")
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_policy_change_reaches_the_server_through_notify(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    """A rule written by another process arrives by NOTIFY; no local invalidation."""
    import asyncio

    token = await tenant.token(None, sub="late")
    assert (await gql(client, token, "{ tenant { id } }"))["errors"][0]["extensions"][
        "code"
    ] == "FORBIDDEN"
    async with tenant.runtime.db.unit_of_work() as session:
        await set_rule(session, tenant.id, "user:late", Permission("store.tenant", "read"), "allow")
    for _ in range(50):
        body = await gql(client, token, "{ tenant { id } }")
        if "errors" not in body:
            break
        await asyncio.sleep(0.05)
    assert body["data"]["tenant"]["id"] == str(tenant.id)


async def test_platform_admin_reads_the_tenant_but_no_tenant_data(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("platform_admin")
    body = await gql(client, token, "{ tenant { slug } }")
    assert body["data"]["tenant"]["slug"] == tenant.slug
    body = await gql(client, token, "{ orders(first: 1) { edges { cursor } } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
