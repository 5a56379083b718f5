"""``POST /hooks/store/plugins/<plugin>/<tenant>``: a plugin that fails or hangs on a
backend's callback answers 502/504, never a 500, and the admin sees why."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest

from centers.store import callbacks, integrations
from kernel.app import Runtime
from kernel.plugins.manifest import CallbackRequest, CallbackResponse, PluginContext
from kernel.plugins.registry import PluginRegistry
from tests.conftest import TenantFixture, gql
from tests.kernel.dispatch.support import SCRIPTED, ScriptedPlugin, enable, plugin_settings


class CallbackScript(ScriptedPlugin):
    async def handle_callback(self, request: CallbackRequest, inbound: object) -> CallbackResponse:
        if request.body == b"boom":
            raise RuntimeError("boom")
        if request.body == b"hang":
            await asyncio.sleep(3600)
        return CallbackResponse(202, {"seen": len(request.body)})


def factory(context: PluginContext) -> CallbackScript:
    return CallbackScript(context)


HOOKED = dataclasses.replace(SCRIPTED, factory=factory)


@pytest.fixture
async def hooked(monkeypatch: pytest.MonkeyPatch, runtime: Runtime, tenant: TenantFixture) -> str:
    monkeypatch.setattr(integrations, "registry", lambda: PluginRegistry([HOOKED]))
    monkeypatch.setattr(
        callbacks, "get_plugin_settings", lambda: plugin_settings(plugin_call_timeout_seconds=0.3)
    )
    await enable(runtime.db, tenant.id, HOOKED)
    return f"/hooks/store/plugins/scripted/{tenant.id}"


async def test_callback_reaches_the_plugin(client: httpx.AsyncClient, hooked: str) -> None:
    response = await client.post(hooked, content=b"hello")
    assert response.status_code == 202 and response.json() == {"seen": 5}


async def test_failing_or_hanging_plugin_answers_502_or_504_and_the_admin_sees_it(
    client: httpx.AsyncClient, hooked: str, tenant: TenantFixture
) -> None:
    failed = await client.post(hooked, content=b"boom")
    assert failed.status_code == 502 and failed.json() == {"error": "plugin failed"}
    hung = await client.post(hooked, content=b"hang")
    assert hung.status_code == 504
    token = await tenant.token("tenant_admin")
    body = await gql(
        client, token, "{ deliveryHealth { subscriber status lastError failedAttempts } }"
    )
    assert body["data"]["deliveryHealth"] == [
        {
            "subscriber": "plugin:scripted",
            "status": "FAILING",
            "lastError": "callback timed out after 0.3s",
            "failedAttempts": 2,
        }
    ]


async def test_oversized_callback_is_refused(client: httpx.AsyncClient, hooked: str) -> None:
    response = await client.post(hooked, content=b"x" * (callbacks.MAX_BODY + 1))
    assert response.status_code == 413
