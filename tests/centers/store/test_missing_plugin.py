"""A plugin a tenant enabled whose distribution is uninstalled, or fails to load, after a
restart (decision 0120): the admin API shows it MISSING, its events wait pending (no
attempt spent, no silent drop), the tenant can disable it and delete the installation
with its sealed secrets; reinstalled, it receives what waited.

"Uninstalled" is a registry built from the real entry points without the plugin's; each
"restart" is a new app (lifespan, dispatcher, request contexts) on the same database.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import httpx
import sqlalchemy as sa

from kernel.app import create_app
from kernel.dispatch import Dispatcher
from kernel.plugins.registry import ENTRY_POINT_GROUP, PluginRegistry
from kernel.plugins.tables import delivery, plugin_installation, subscriber_health
from kernel.settings import Settings
from schema.subgraphs import served_api
from tests.conftest import TenantFixture, gql
from tests.kernel.dispatch.support import SCRIPTS, emit_changes

SCRIPTED = EntryPoint("scripted", "tests.kernel.dispatch.support:SCRIPTED", ENTRY_POINT_GROUP)
BROKEN = EntryPoint("scripted", "tests.no_such_distribution:MANIFEST", ENTRY_POINT_GROUP)

INSTALLATIONS = """
{ pluginInstallations { plugin enabled available unavailableReason secretsSet
    health { status pending dead failedAttempts } } }
"""
CONFIGURE = """
mutation($s: JSON!) {
  configurePlugin(input: {plugin: "scripted", settings: $s}) { userErrors { code } }
  enablePlugin(input: {plugin: "scripted"}) { installation { enabled } userErrors { code } }
}
"""
DISABLE = """
mutation { disablePlugin(input: {plugin: "scripted"}) {
  installation { plugin enabled available health { status pending } }
  userErrors { field code } } }
"""
DELETE = """
mutation { deletePluginInstallation(input: {plugin: "scripted"}) {
  deletedPlugin userErrors { field code } } }
"""


def registry(*extra: EntryPoint) -> PluginRegistry:
    """The platform's real plugins, plus ``extra``: what a restart would load."""
    shipped = list(entry_points(group=ENTRY_POINT_GROUP))
    return PluginRegistry.from_entry_points(entries=[*shipped, *extra])


@dataclass
class Served:
    client: httpx.AsyncClient
    dispatcher: Dispatcher
    token: str

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await gql(self.client, self.token, query, variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@asynccontextmanager
async def serving(
    settings: Settings, tenant: TenantFixture, plugins: PluginRegistry
) -> AsyncIterator[Served]:
    """One process lifetime of the platform with these plugins installed."""
    app = create_app(served_api(), settings, plugins=plugins)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://zhongtai.test") as c:
            yield Served(c, app.state.dispatcher, await tenant.token("tenant_admin"))


async def install_and_deliver_one(settings: Settings, tenant: TenantFixture) -> uuid.UUID:
    thing = uuid.uuid4()
    async with serving(settings, tenant, registry(SCRIPTED)) as served:
        done = await served.gql(CONFIGURE, {"s": {"api_key": "k-sealed-123"}})
        assert done["enablePlugin"]["installation"]["enabled"] is True
        await emit_changes(tenant.runtime.db, tenant.id, thing, [1])
        report = await served.dispatcher.run_once(tenant_id=tenant.id)
        assert report.delivered == 1
        (only,) = (await served.gql(INSTALLATIONS))["pluginInstallations"]
        assert only["health"]["status"] == "HEALTHY" and only["available"] is True
    return thing


def payload_seqs(tenant: TenantFixture) -> Sequence[int]:
    return [e.payload["seq"] for e in SCRIPTS[tenant.id].received]


async def test_an_uninstalled_plugin_is_missing_and_its_events_wait(
    settings: Settings, tenant: TenantFixture
) -> None:
    thing = await install_and_deliver_one(settings, tenant)
    async with serving(settings, tenant, registry()) as served:  # uninstalled, restarted
        (shown,) = (await served.gql(INSTALLATIONS))["pluginInstallations"]
        assert shown["enabled"] is True and shown["available"] is False
        assert shown["health"]["status"] == "MISSING"
        assert shown["unavailableReason"] == "plugin 'scripted' is not installed on the platform"
        assert shown["secretsSet"] == ["api_key"]

        await emit_changes(tenant.runtime.db, tenant.id, thing, [2, 3])
        report = await served.dispatcher.run_once(tenant_id=tenant.id)
        assert (report.fanned_out, report.claimed, report.failed) == (2, 0, 0)
        (shown,) = (await served.gql(INSTALLATIONS))["pluginInstallations"]
        health = shown["health"]
        assert (health["status"], health["pending"], health["dead"]) == ("MISSING", 2, 0)
        assert health["failedAttempts"] == 0
        health_list = (await served.gql("{ deliveryHealth { subscriber status pending } }"))[
            "deliveryHealth"
        ]
        assert {"subscriber": "plugin:scripted", "status": "MISSING", "pending": 2} in health_list
    assert payload_seqs(tenant) == [1]

    async with serving(settings, tenant, registry(SCRIPTED)) as served:  # reinstalled
        report = await served.dispatcher.run_once(tenant_id=tenant.id)
        assert report.delivered == 2
        (shown,) = (await served.gql(INSTALLATIONS))["pluginInstallations"]
        assert shown["health"]["status"] == "HEALTHY" and shown["health"]["pending"] == 0
    assert payload_seqs(tenant) == [1, 2, 3]


async def test_the_tenant_disables_and_deletes_a_missing_plugin_and_its_secrets(
    settings: Settings, tenant: TenantFixture
) -> None:
    thing = await install_and_deliver_one(settings, tenant)
    async with serving(settings, tenant, registry()) as served:
        await emit_changes(tenant.runtime.db, tenant.id, thing, [2])
        await served.dispatcher.run_once(tenant_id=tenant.id)

        disabled = (await served.gql(DISABLE))["disablePlugin"]
        assert disabled["userErrors"] == []
        assert disabled["installation"] == {
            "plugin": "scripted",
            "enabled": False,
            "available": False,
            "health": {"status": "MISSING", "pending": 1},
        }
        deleted = (await served.gql(DELETE))["deletePluginInstallation"]
        assert deleted == {"deletedPlugin": "scripted", "userErrors": []}
        assert (await served.gql(INSTALLATIONS))["pluginInstallations"] == []
        health = (await served.gql("{ deliveryHealth { subscriber } }"))["deliveryHealth"]
        assert {"subscriber": "plugin:scripted"} not in health

        again = (await served.gql(DELETE))["deletePluginInstallation"]
        assert again["userErrors"] == [
            {"field": ["input", "plugin"], "code": "PLUGIN_NOT_CONFIGURED"}
        ]

    async with tenant.runtime.db.unit_of_work() as session:  # secrets and state are gone
        for table in (plugin_installation, delivery, subscriber_health):
            subscriber_column = "plugin" if table is plugin_installation else "subscriber"
            name = "scripted" if table is plugin_installation else "plugin:scripted"
            left = await session.scalar(
                sa.select(sa.func.count()).where(
                    table.c.tenant_id == tenant.id, table.c[subscriber_column] == name
                )
            )
            assert left == 0, table.name


async def test_a_plugin_that_fails_to_load_is_shown_to_the_admin(
    settings: Settings, tenant: TenantFixture
) -> None:
    await install_and_deliver_one(settings, tenant)
    async with serving(settings, tenant, registry(BROKEN)) as served:
        errors = (await served.gql("{ pluginLoadErrors { plugin error } }"))["pluginLoadErrors"]
        assert [e["plugin"] for e in errors] == ["scripted"]
        assert errors[0]["error"].startswith("ModuleNotFoundError")
        (shown,) = (await served.gql(INSTALLATIONS))["pluginInstallations"]
        assert shown["health"]["status"] == "MISSING"
        assert shown["unavailableReason"].startswith(
            "plugin 'scripted' failed to load: ModuleNotFoundError"
        )
        enabled = await served.gql(
            'mutation { enablePlugin(input: {plugin: "scripted"}) { userErrors { code } } }'
        )
        assert enabled["enablePlugin"]["userErrors"] == [{"code": "UNKNOWN_PLUGIN"}]


async def test_a_new_installation_after_a_delete_is_built_with_its_new_settings(
    settings: Settings, tenant: TenantFixture
) -> None:
    async with serving(settings, tenant, registry(SCRIPTED)) as served:
        await served.gql(CONFIGURE, {"s": {"endpoint": "https://first.example"}})
        await emit_changes(tenant.runtime.db, tenant.id, uuid.uuid4(), [1])
        await served.dispatcher.run_once(tenant_id=tenant.id)
        await served.gql(DELETE)
        await served.gql(CONFIGURE, {"s": {"endpoint": "https://second.example"}})
        await emit_changes(tenant.runtime.db, tenant.id, uuid.uuid4(), [2])
        await served.dispatcher.run_once(tenant_id=tenant.id)
    endpoints = [s.endpoint for s in SCRIPTS[tenant.id].built_with]
    assert endpoints == ["https://first.example", "https://second.example"]
