"""What a plugin declares (its manifest) and the hooks its instances implement.

A plugin instance serves ONE tenant with that tenant's validated settings, so no hook
takes a tenant id. Every hook is async and must not block the event loop; each call
runs under a timeout and behind a circuit breaker per tenant and plugin.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, SecretStr

PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
TOPIC_PATTERN = re.compile(r"^(\*|[a-z][a-z_]*\.(\*|[a-z][a-z_]*))$")


class PluginError(Exception):
    """Raised by a plugin for a failure the dispatcher should retry (the backend is down,
    answered 5xx, timed out…). Any other exception is treated the same way; this one
    just carries a message fit for the admin to read."""


@dataclass(frozen=True, slots=True)
class DeliveredEvent:
    """An outbox event as a subscriber receives it. ``id`` is stable across retries and
    replays: consumers dedupe by it (delivery is at least once)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    topic: str
    aggregate_id: uuid.UUID
    occurred_at: datetime
    payload: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The wire form webhooks and HTTP adapters send."""
        return {
            "id": str(self.id),
            "tenantId": str(self.tenant_id),
            "topic": self.topic,
            "aggregateId": str(self.aggregate_id),
            "occurredAt": self.occurred_at.isoformat(),
            "payload": dict(self.payload),
        }


@dataclass(frozen=True, slots=True)
class PluginContext:
    """What a plugin instance is built with: its tenant and its validated settings
    (secrets included, decrypted, as ``SecretStr``)."""

    tenant_id: uuid.UUID
    settings: BaseModel
    # Seconds a single call may take; adapters pass it to their HTTP clients.
    call_timeout: float = 5.0
    # Tenant-bound transactions (``kernel.dispatch.inbound.Inbound``) for hooks that must
    # read the centers' ``api`` (e.g. an order's channel); None in contract tests.
    inbound: Any = None


@runtime_checkable
class Plugin(Protocol):
    """The hooks every plugin instance implements (see ``docs/plugins.md``)."""

    async def handle_event(self, event: DeliveredEvent) -> None:
        """Deliver one outbox event of a subscribed topic to the backend.

        Return normally once the backend has it; raise (``PluginError`` preferably) to
        have it retried with backoff. Must be idempotent by ``event.id``.
        """
        ...

    async def check_health(self) -> None:
        """Raise if the backend is unreachable or refuses our credentials."""
        ...

    async def aclose(self) -> None:
        """Release connections; called when the tenant's configuration changes or the
        process stops."""
        ...


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """An HTTP request a backend sent to ``/hooks/store/plugins/<plugin>/<tenant id>``.
    Nothing in it is trusted until the plugin has checked its signature."""

    method: str
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class CallbackResponse:
    status: int
    body: Mapping[str, Any]


@runtime_checkable
class CallbackPlugin(Plugin, Protocol):
    """A plugin whose backend calls us (POS status callbacks, channel order pushes)."""

    async def handle_callback(self, request: CallbackRequest, inbound: Any) -> CallbackResponse:
        """Authenticate the request FIRST (its signature, with a secret from the plugin's
        settings; answer 401 otherwise), then apply it through the centers' ``api`` in
        ``inbound.transaction()``. Must be idempotent: backends resend callbacks."""
        ...


@runtime_checkable
class PullingPlugin(Plugin, Protocol):
    """A plugin that also brings data in (its manifest sets ``pull_interval_seconds``)."""

    async def pull(self, inbound: Any) -> None:
        """Fetch what changed in the backend since the saved cursor and apply it through
        the centers' ``api`` in ``inbound.transaction()``, saving the new cursor in the
        same transaction (``kernel.dispatch.inbound.Inbound``). Must tolerate duplicate
        and out-of-order items: apply by source version or external id."""
        ...


def secret_fields(model: type[BaseModel]) -> frozenset[str]:
    """Settings fields typed ``SecretStr``: sealed at rest, never returned by the API."""
    found = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ()):
            found.add(name)
    return frozenset(found)


@dataclass(frozen=True)
class PluginManifest:
    """A plugin's declaration, the object its ``zhongtai.plugins`` entry point names."""

    name: str
    version: str
    title: str
    # The center ports implemented, as "<center>.<Protocol>", e.g. "order.OrderSink".
    ports: Sequence[str]
    # The settings model: validated on configure; ``SecretStr`` fields are secrets.
    settings_model: type[BaseModel]
    # Builds one instance for one tenant.
    factory: Callable[[PluginContext], Plugin]
    # Outbox topics delivered to ``handle_event``: exact ("order.placed"), a center's
    # ("order.*") or every topic ("*").
    topics: Sequence[str] = field(default_factory=tuple)
    description: str = ""
    # Seconds between calls of the instance's ``pull`` hook (0: the plugin does not pull).
    pull_interval_seconds: float = 0.0

    def __post_init__(self) -> None:
        if not PLUGIN_NAME.match(self.name):
            raise ValueError(f"plugin name {self.name!r}: 2-63 lowercase letters, digits, '-'")
        for topic in self.topics:
            if not TOPIC_PATTERN.match(topic):
                raise ValueError(f"plugin {self.name}: bad topic pattern {topic!r}")
        for port in self.ports:
            if not re.match(r"^[a-z]+\.[A-Z][A-Za-z]+$", port):
                raise ValueError(f"plugin {self.name}: port {port!r} is not '<center>.<Protocol>'")

    @property
    def secret_fields(self) -> frozenset[str]:
        return secret_fields(self.settings_model)

    def subscribes_to(self, topic: str) -> bool:
        return topic_matches(self.topics, topic)


def topic_matches(patterns: Sequence[str], topic: str) -> bool:
    """Whether ``topic`` matches any of ``patterns`` (exact, ``center.*`` or ``*``)."""
    center = topic.split(".", 1)[0]
    return any(p == "*" or p == topic or p == f"{center}.*" for p in patterns)
