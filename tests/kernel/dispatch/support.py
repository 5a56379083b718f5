"""A scriptable plugin, a webhook receiver and event helpers for dispatcher tests."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel, SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel.db import Database
from kernel.dispatch.webhooks import EVENT_ID_HEADER, verify
from kernel.outbox import emit
from kernel.plugins import storage
from kernel.plugins.manifest import DeliveredEvent, PluginContext, PluginManifest
from kernel.plugins.registry import PluginRegistry
from kernel.plugins.sealing import Sealer
from kernel.plugins.settings import PluginSettings


@dataclass(frozen=True, slots=True)
class Changed:
    """A test event: aggregate ``thing_id`` reached version ``seq``."""

    topic: ClassVar[str] = "test.changed"
    thing_id: uuid.UUID
    seq: int

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.thing_id


class ScriptSettings(BaseModel):
    endpoint: str = "https://backend.example"
    api_key: SecretStr | None = None


@dataclass
class Script:
    """What the scriptable plugin does, per tenant: succeed, raise, hang, return garbage."""

    mode: str = "ok"
    failures_left: int = 0
    received: list[DeliveredEvent] = field(default_factory=list)
    calls: int = 0
    built_with: list[ScriptSettings] = field(default_factory=list)


SCRIPTS: dict[uuid.UUID, Script] = defaultdict(Script)


class ScriptedPlugin:
    def __init__(self, context: PluginContext) -> None:
        assert isinstance(context.settings, ScriptSettings)
        self.script = SCRIPTS[context.tenant_id]
        self.script.built_with.append(context.settings)

    async def handle_event(self, event: DeliveredEvent) -> None:
        self.script.calls += 1
        if self.script.failures_left > 0:
            self.script.failures_left -= 1
            raise RuntimeError("backend said no")
        if self.script.mode == "raise":
            raise RuntimeError("backend said no")
        if self.script.mode == "hang":
            await asyncio.sleep(3600)
        if self.script.mode == "garbage":
            return {"unexpected": True}  # type: ignore[return-value]
        self.script.received.append(event)

    async def check_health(self) -> None:
        if self.script.mode != "ok":
            raise RuntimeError("unhealthy")

    async def aclose(self) -> None:
        return None


SCRIPTED = PluginManifest(
    name="scripted",
    version="1.0.0",
    title="Scripted test plugin",
    ports=("order.OrderSink",),
    settings_model=ScriptSettings,
    factory=ScriptedPlugin,
    topics=("test.*",),
)


def plugin_settings(**overrides: Any) -> PluginSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "plugin_call_timeout_seconds": 0.3,
        "dispatch_max_attempts": 4,
        "dispatch_backoff_base_seconds": 1.0,
        "dispatch_backoff_max_seconds": 60.0,
        "breaker_failure_threshold": 3,
        "breaker_cooldown_seconds": 30.0,
    }
    values.update(overrides)
    return PluginSettings(**values)


def registry() -> PluginRegistry:
    return PluginRegistry([SCRIPTED])


async def enable(db: Database, tenant_id: uuid.UUID, manifest: PluginManifest = SCRIPTED) -> None:
    sealer = Sealer.from_settings(plugin_settings())
    async with db.unit_of_work(tenant_id) as session:
        await storage.configure(session, tenant_id, manifest, {"api_key": "k-123"}, sealer)
        await storage.set_enabled(session, tenant_id, manifest, True, sealer)


async def emit_changes(
    db: Database, tenant_id: uuid.UUID, thing_id: uuid.UUID, seqs: range | list[int]
) -> None:
    for seq in seqs:
        async with db.unit_of_work(tenant_id) as session:
            await emit(session, tenant_id, Changed(thing_id=thing_id, seq=seq))


def later(seconds: float, start: datetime | None = None) -> datetime:
    return (start or datetime.now(UTC)) + timedelta(seconds=seconds)


class WebhookReceiver:
    """A consumer of our webhooks: verifies each signature, dedupes by event id."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.raw: list[dict[str, Any]] = []  # every authentic request, duplicates included
        self.rejected = 0

        async def receive(request: Request) -> Response:
            body = await request.body()
            if not verify(self.secret, dict(request.headers), body):
                self.rejected += 1
                return JSONResponse({"error": "bad signature"}, status_code=401)
            event = json.loads(body)
            assert event["id"] == request.headers[EVENT_ID_HEADER]
            self.raw.append(event)
            return JSONResponse({"ok": True})

        self.app = Starlette(routes=[Route("/hook", receive, methods=["POST"])])

    def deduped(self) -> list[dict[str, Any]]:
        seen: set[str] = set()
        unique = []
        for event in self.raw:
            if event["id"] not in seen:
                seen.add(event["id"])
                unique.append(event)
        return unique
