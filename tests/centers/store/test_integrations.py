"""The tenant's integrations through the admin API: plugins, webhooks, dead letters."""

from __future__ import annotations

import uuid

import httpx
import sqlalchemy as sa

from kernel.app import Runtime
from kernel.dispatch import Dispatcher
from kernel.plugins.registry import PluginRegistry
from kernel.plugins.tables import plugin_installation
from plugins.emulation import LoopbackServer
from plugins.erp.rest_emulator import erp_emulator
from tests.conftest import TenantFixture, gql
from tests.kernel.dispatch.support import emit_changes, plugin_settings

INSTALLATION = "installation { plugin enabled settings secretsSet health { status } }"
CONFIGURE = (
    "mutation($input: ConfigurePluginInput!) { configurePlugin(input: $input) { "
    + INSTALLATION
    + " userErrors { field message code } } }"
)
ENABLE = (
    "mutation($input: EnablePluginInput!) { enablePlugin(input: $input) { "
    + INSTALLATION
    + " userErrors { field message code } } }"
)
REGISTER = """
mutation($input: RegisterWebhookInput!) {
  registerWebhook(input: $input) { webhook { id url topics } secret userErrors { field code } }
}
"""
ERP_SETTINGS = {"base_url": "https://erp.example", "api_key": "k-very-secret"}


async def test_available_plugins_include_the_reference_adapters(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    body = await gql(
        client,
        token,
        "{ availablePlugins { name version ports topics secretFields settingsSchema } }",
    )
    plugins = {p["name"]: p for p in body["data"]["availablePlugins"]}
    erp = plugins["erp-rest"]
    assert erp["secretFields"] == ["api_key"]
    assert "order.OrderSink" in erp["ports"]
    assert "base_url" in erp["settingsSchema"]["properties"]


async def test_configured_secret_is_sealed_and_never_returned(
    client: httpx.AsyncClient, tenant: TenantFixture, runtime: Runtime
) -> None:
    token = await tenant.token("tenant_admin")
    body = await gql(
        client, token, CONFIGURE, {"input": {"plugin": "erp-rest", "settings": ERP_SETTINGS}}
    )
    payload = body["data"]["configurePlugin"]
    assert payload["userErrors"] == []
    installation = payload["installation"]
    assert installation["enabled"] is False
    assert installation["secretsSet"] == ["api_key"]
    assert "api_key" not in installation["settings"]
    assert "k-very-secret" not in str(body)
    async with runtime.db.unit_of_work(tenant.id) as session:
        stored = (
            await session.execute(
                sa.select(plugin_installation).where(plugin_installation.c.tenant_id == tenant.id)
            )
        ).one()
    assert "k-very-secret" not in str(tuple(stored))


async def test_settings_that_do_not_validate_are_a_user_error(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    bad = {"base_url": "not a url", "api_key": "k"}
    body = await gql(client, token, CONFIGURE, {"input": {"plugin": "erp-rest", "settings": bad}})
    (error,) = body["data"]["configurePlugin"]["userErrors"]
    assert error["code"] == "INVALID_SETTINGS"
    assert error["field"] == ["input", "settings", "base_url"]
    listed = await gql(client, token, "{ pluginInstallations { plugin } }")
    assert listed["data"]["pluginInstallations"] == []


async def test_unknown_setting_and_unknown_plugin_are_user_errors(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    extra = {**ERP_SETTINGS, "colour": "red"}
    body = await gql(client, token, CONFIGURE, {"input": {"plugin": "erp-rest", "settings": extra}})
    assert body["data"]["configurePlugin"]["userErrors"][0]["code"] == "INVALID_SETTINGS"
    body = await gql(client, token, CONFIGURE, {"input": {"plugin": "nope", "settings": {}}})
    assert body["data"]["configurePlugin"]["userErrors"][0]["code"] == "UNKNOWN_PLUGIN"
    body = await gql(client, token, CONFIGURE, {"input": {"plugin": "erp-rest", "settings": [1]}})
    assert body["data"]["configurePlugin"]["userErrors"][0]["code"] == "INVALID_SETTINGS"


async def test_plugin_cannot_be_enabled_before_its_settings_are_complete(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    body = await gql(client, token, ENABLE, {"input": {"plugin": "erp-rest"}})
    payload = body["data"]["enablePlugin"]
    assert payload["installation"] is None
    assert payload["userErrors"][0]["code"] == "INVALID_SETTINGS"


async def test_enable_then_reconfigure_without_the_secret_keeps_it(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    await gql(client, token, CONFIGURE, {"input": {"plugin": "erp-rest", "settings": ERP_SETTINGS}})
    enabled = await gql(client, token, ENABLE, {"input": {"plugin": "erp-rest"}})
    assert enabled["data"]["enablePlugin"]["installation"]["enabled"] is True
    again = await gql(
        client,
        token,
        CONFIGURE,
        {"input": {"plugin": "erp-rest", "settings": {"base_url": "https://erp2.example"}}},
    )
    installation = again["data"]["configurePlugin"]["installation"]
    assert installation["secretsSet"] == ["api_key"] and installation["enabled"] is True
    assert installation["settings"]["base_url"] == "https://erp2.example/"


async def test_cashier_cannot_manage_integrations_and_nothing_changes(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    denied = await gql(
        client, cashier, CONFIGURE, {"input": {"plugin": "erp-rest", "settings": ERP_SETTINGS}}
    )
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    read = await gql(client, cashier, "{ pluginInstallations { plugin } }")
    assert read["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = await tenant.token("tenant_admin")
    listed = await gql(client, admin, "{ pluginInstallations { plugin } }")
    assert listed["data"]["pluginInstallations"] == []


async def test_another_tenant_sees_none_of_our_integrations(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    await gql(client, token, CONFIGURE, {"input": {"plugin": "erp-rest", "settings": ERP_SETTINGS}})
    await gql(
        client, token, REGISTER, {"input": {"url": "https://hooks.example/x", "topics": ["*"]}}
    )
    other = await other_tenant.token("tenant_admin")
    body = await gql(client, other, "{ pluginInstallations { plugin } webhooks { id } }")
    assert body["data"] == {"pluginInstallations": [], "webhooks": []}


async def test_webhook_secret_is_shown_once_at_registration(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    body = await gql(
        client,
        token,
        REGISTER,
        {"input": {"url": "https://hooks.example/in", "topics": ["order.*", "order.placed"]}},
    )
    payload = body["data"]["registerWebhook"]
    assert payload["userErrors"] == [] and payload["secret"].startswith("whsec_")
    assert payload["webhook"]["topics"] == ["order.*", "order.placed"]
    listed = await gql(client, token, "{ webhooks { id url topics enabled health { status } } }")
    assert payload["secret"] not in str(listed)
    assert listed["data"]["webhooks"][0]["health"]["status"] == "IDLE"


async def test_bad_webhook_url_or_topic_is_a_user_error(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    cases = [
        ({"url": "ftp://x.example/", "topics": ["*"]}, "INVALID_URL"),
        ({"url": "https://user:pw@x.example/", "topics": ["*"]}, "INVALID_URL"),
        ({"url": "https://x.example/", "topics": []}, "INVALID_TOPICS"),
        ({"url": "https://x.example/", "topics": ["Order Placed"]}, "INVALID_TOPICS"),
    ]
    for given, code in cases:
        body = await gql(client, token, REGISTER, {"input": given})
        assert body["data"]["registerWebhook"]["userErrors"][0]["code"] == code, given


async def test_delete_webhook(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    token = await tenant.token("tenant_admin")
    created = await gql(
        client, token, REGISTER, {"input": {"url": "https://h.example/", "topics": ["*"]}}
    )
    webhook_id = created["data"]["registerWebhook"]["webhook"]["id"]
    delete = (
        "mutation($id: ID!) { deleteWebhook(input: {id: $id}) { deletedId userErrors { code } } }"
    )
    body = await gql(client, token, delete, {"id": webhook_id})
    assert body["data"]["deleteWebhook"] == {"deletedId": webhook_id, "userErrors": []}
    again = await gql(client, token, delete, {"id": webhook_id})
    assert again["data"]["deleteWebhook"]["userErrors"] == [{"code": "WEBHOOK_NOT_FOUND"}]


async def test_admin_lists_dead_letters_sees_the_error_and_replays_them(
    client: httpx.AsyncClient, tenant: TenantFixture, runtime: Runtime
) -> None:
    token = await tenant.token("tenant_admin")
    down = LoopbackServer(None)  # type: ignore[arg-type]  # never started: refused
    created = await gql(
        client, token, REGISTER, {"input": {"url": down.url + "/hook", "topics": ["test.*"]}}
    )
    assert created["data"]["registerWebhook"]["userErrors"] == []
    await emit_changes(runtime.db, tenant.id, uuid.uuid4(), [1])
    dispatcher = Dispatcher(
        runtime.db,
        registry=PluginRegistry(),
        settings=plugin_settings(dispatch_max_attempts=1),
    )
    await dispatcher.run_once(tenant_id=tenant.id)
    await dispatcher.aclose()

    listed = await gql(
        client,
        token,
        "{ deadLetters(first: 10) { edges { node { id topic attempts lastError } } } "
        "deliveryHealth { status lastError dead failedAttempts } }",
    )
    (edge,) = listed["data"]["deadLetters"]["edges"]
    assert edge["node"]["topic"] == "test.changed" and edge["node"]["attempts"] == 1
    assert edge["node"]["lastError"].startswith("PluginError: webhook unreachable")
    (health,) = listed["data"]["deliveryHealth"]
    assert health["status"] == "FAILING" and health["dead"] == 1 and health["failedAttempts"] == 1

    replay = "mutation($ids: [ID!]!) { replayDeadLetters(input: {ids: $ids}) { replayedIds userErrors { code } } }"
    body = await gql(client, token, replay, {"ids": [edge["node"]["id"]]})
    assert body["data"]["replayDeadLetters"] == {
        "replayedIds": [edge["node"]["id"]],
        "userErrors": [],
    }
    after = await gql(client, token, "{ deadLetters(first: 10) { edges { node { id } } } }")
    assert after["data"]["deadLetters"]["edges"] == []
    unknown = await gql(client, token, replay, {"ids": [str(uuid.uuid4())]})
    assert unknown["data"]["replayDeadLetters"]["userErrors"] == [{"code": "DEAD_LETTER_NOT_FOUND"}]


async def test_check_plugin_reports_what_the_backend_said(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    server, _ = erp_emulator(api_key="right-key")
    check = 'mutation { checkPlugin(input: {plugin: "erp-rest"}) { ok error userErrors { code } } }'
    async with server:
        settings = {"base_url": server.url, "api_key": "wrong-key"}
        await gql(client, token, CONFIGURE, {"input": {"plugin": "erp-rest", "settings": settings}})
        refused = await gql(client, token, check)
        assert refused["data"]["checkPlugin"] == {
            "ok": False,
            "error": "PluginError: ERP refused the API key",
            "userErrors": [],
        }
        settings["api_key"] = "right-key"
        await gql(client, token, CONFIGURE, {"input": {"plugin": "erp-rest", "settings": settings}})
        fine = await gql(client, token, check)
        assert fine["data"]["checkPlugin"] == {"ok": True, "error": None, "userErrors": []}


async def test_another_tenant_can_neither_see_nor_replay_our_dead_letters(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    runtime: Runtime,
) -> None:
    token = await tenant.token("tenant_admin")
    down = LoopbackServer(None)  # type: ignore[arg-type]  # never started: refused
    await gql(client, token, REGISTER, {"input": {"url": down.url + "/h", "topics": ["test.*"]}})
    await emit_changes(runtime.db, tenant.id, uuid.uuid4(), [1])
    dispatcher = Dispatcher(
        runtime.db, registry=PluginRegistry(), settings=plugin_settings(dispatch_max_attempts=1)
    )
    await dispatcher.run_once(tenant_id=tenant.id)
    await dispatcher.aclose()
    ours = await gql(client, token, "{ deadLetters(first: 5) { edges { node { id } } } }")
    (edge,) = ours["data"]["deadLetters"]["edges"]

    other = await other_tenant.token("tenant_admin")
    seen = await gql(
        client,
        other,
        "{ deadLetters(first: 5) { edges { node { id } } } deliveryHealth { subscriber } }",
    )
    assert seen["data"] == {"deadLetters": {"edges": []}, "deliveryHealth": []}
    replay = "mutation($ids: [ID!]!) { replayDeadLetters(input: {ids: $ids}) { replayedIds userErrors { code } } }"
    refused = await gql(client, other, replay, {"ids": [edge["node"]["id"]]})
    assert refused["data"]["replayDeadLetters"] == {
        "replayedIds": [],
        "userErrors": [{"code": "DEAD_LETTER_NOT_FOUND"}],
    }
    still = await gql(client, token, "{ deadLetters(first: 5) { edges { node { id } } } }")
    assert still["data"]["deadLetters"]["edges"] == [edge]
