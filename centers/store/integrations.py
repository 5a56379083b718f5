"""Per-tenant plugins and webhooks (the store center owns tenant integration settings):
what the admin API calls. Never commits; raises ``UserInputError`` on bad input.

Storage, sealing and delivery state are kernel facilities (``kernel.plugins``,
``kernel.dispatch``), because the dispatcher that uses them is kernel code.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kernel.dispatch import deliveries
from kernel.errors import NotFoundError, UserInputError
from kernel.plugins import storage
from kernel.plugins.manifest import PluginContext, PluginManifest
from kernel.plugins.registry import PluginRegistry, default_registry
from kernel.plugins.sealing import Sealer
from kernel.plugins.settings import get_plugin_settings

MAX_REPLAY = 100


@dataclass(frozen=True, slots=True)
class SubscriberStatus:
    """Health and delivery metrics of one subscriber (plugin or webhook) of a tenant."""

    subscriber: str
    status: str  # HEALTHY, FAILING, CIRCUIT_OPEN, IDLE, MISSING
    consecutive_failures: int
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    circuit_open_until: datetime | None
    delivered: int
    failed_attempts: int
    pending: int
    dead: int
    oldest_pending_at: datetime | None
    average_latency_ms: int | None
    # Why a plugin cannot run on this platform (not installed, failed to load): MISSING.
    unavailable_reason: str | None = None


def sealer() -> Sealer:
    return Sealer.from_settings(get_plugin_settings())


def registry() -> PluginRegistry:
    return default_registry()


def installed(plugins: PluginRegistry | None) -> PluginRegistry:
    """The plugins this process serves: the app's registry, else the entry points."""
    return plugins if plugins is not None else registry()


def manifest_of(name: str, plugins: PluginRegistry | None = None) -> PluginManifest:
    found = installed(plugins).get(name)
    if found is None:
        raise UserInputError(
            f"no plugin named {name!r} is installed",
            code="UNKNOWN_PLUGIN",
            field=["input", "plugin"],
        )
    return found


async def configure_plugin(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    name: str,
    settings: Any,
    plugins: PluginRegistry | None = None,
) -> storage.Installation:
    return await storage.configure(
        session, tenant_id, manifest_of(name, plugins), settings, sealer()
    )


async def set_plugin_enabled(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    name: str,
    enabled: bool,
    plugins: PluginRegistry | None = None,
) -> storage.Installation:
    """Enable (the plugin must be installed and its settings validate) or disable. A
    plugin missing from the platform can still be disabled (decision 0120)."""
    if not enabled and installed(plugins).get(name) is None:
        return await storage.disable(session, tenant_id, name, sealer())
    return await storage.set_enabled(
        session, tenant_id, manifest_of(name, plugins), enabled, sealer()
    )


async def delete_plugin_installation(
    session: AsyncSession, tenant_id: uuid.UUID, name: str
) -> None:
    """Remove the tenant's installation of a plugin, installed here or not: settings,
    sealed secrets, cursors, waiting and dead deliveries, health."""
    await storage.delete_installation(session, tenant_id, name)


async def register_webhook(
    session: AsyncSession, tenant_id: uuid.UUID, url: str, topics: Sequence[str]
) -> tuple[storage.Webhook, str]:
    return await storage.register_webhook(
        session,
        tenant_id,
        url=url,
        topics=topics,
        sealer=sealer(),
        allow_private=get_plugin_settings().allow_private_webhooks,
    )


async def delete_webhook(
    session: AsyncSession, tenant_id: uuid.UUID, webhook_id: uuid.UUID
) -> None:
    try:
        await storage.delete_webhook(session, tenant_id, webhook_id)
    except NotFoundError:
        raise UserInputError(
            "webhook not found", code="WEBHOOK_NOT_FOUND", field=["input", "id"]
        ) from None


async def replay_dead_letters(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    if not ids or len(ids) > MAX_REPLAY:
        raise UserInputError(
            f"give 1-{MAX_REPLAY} dead letter ids", code="INVALID_IDS", field=["input", "ids"]
        )
    replayed = await deliveries.replay(session, tenant_id, ids, datetime.now(UTC))
    missing = [i for i in ids if i not in set(replayed)]
    if missing:
        raise UserInputError(
            f"not a dead letter of this tenant: {missing[0]}",
            code="DEAD_LETTER_NOT_FOUND",
            field=["input", "ids", str(list(ids).index(missing[0]))],
        )
    return replayed


async def statuses(
    session: AsyncSession, tenant_id: uuid.UUID, plugins: PluginRegistry | None = None
) -> dict[str, SubscriberStatus]:
    """Health and metrics of every subscriber of the tenant that has any history."""
    health = await storage.health_of(session, tenant_id)
    counts = await deliveries.counts(session, tenant_id)
    now = datetime.now(UTC)
    served = installed(plugins)
    return {
        name: _status(name, health.get(name), counts.get(name), now, _missing(served, name))
        for name in sorted(set(health) | set(counts))
    }


def _missing(plugins: PluginRegistry, subscriber: str) -> str | None:
    kind, _, name = subscriber.partition(":")
    return plugins.unavailable_reason(name) if kind == "plugin" else None


def status_of(
    statuses_by_name: Mapping[str, SubscriberStatus],
    subscriber: str,
    plugins: PluginRegistry | None = None,
) -> SubscriberStatus:
    return statuses_by_name.get(subscriber) or _status(
        subscriber, None, None, datetime.now(UTC), _missing(installed(plugins), subscriber)
    )


def _status(
    subscriber: str,
    health: storage.Health | None,
    counts: deliveries.SubscriberCounts | None,
    now: datetime,
    missing: str | None = None,
) -> SubscriberStatus:
    if missing is not None:
        status = "MISSING"  # nothing can be called: its events wait, pending
    elif health is not None and health.circuit_open_until and health.circuit_open_until > now:
        status = "CIRCUIT_OPEN"
    elif health is not None and health.consecutive_failures > 0:
        status = "FAILING"
    elif health is not None and health.last_success_at is not None:
        status = "HEALTHY"
    else:
        status = "IDLE"
    calls = (health.delivered_count + health.failed_count) if health else 0
    return SubscriberStatus(
        subscriber=subscriber,
        status=status,
        consecutive_failures=health.consecutive_failures if health else 0,
        last_error=health.last_error if health else None,
        last_error_at=health.last_error_at if health else None,
        last_success_at=health.last_success_at if health else None,
        circuit_open_until=health.circuit_open_until if health else None,
        delivered=health.delivered_count if health else 0,
        failed_attempts=health.failed_count if health else 0,
        pending=counts.pending if counts else 0,
        dead=counts.dead if counts else 0,
        oldest_pending_at=counts.oldest_pending_at if counts else None,
        average_latency_ms=(health.total_latency_ms // calls) if health and calls else None,
        unavailable_reason=missing,
    )


async def check_plugin(
    session: AsyncSession, tenant_id: uuid.UUID, name: str, plugins: PluginRegistry | None = None
) -> str | None:
    """Build the tenant's instance and call its ``check_health`` under the call timeout;
    the error text, or ``None`` when the backend answered well."""
    manifest = manifest_of(name, plugins)
    box = sealer()
    installation = await storage.get_installation(session, tenant_id, name)
    if installation is None:
        raise UserInputError(
            f"plugin {name!r} is not configured",
            code="PLUGIN_NOT_CONFIGURED",
            field=["input", "plugin"],
        )
    timeout = get_plugin_settings().plugin_call_timeout_seconds
    try:
        settings = storage.open_settings(manifest, installation, box)
        plugin = manifest.factory(
            PluginContext(tenant_id=tenant_id, settings=settings, call_timeout=timeout)
        )
    except Exception as error:
        return f"cannot build the plugin: {type(error).__name__}: {error}"[:500]
    try:
        await asyncio.wait_for(plugin.check_health(), timeout)
    except TimeoutError:
        return f"timed out after {timeout:g}s"
    except Exception as error:  # the backend's failure is the answer, not our crash
        return f"{type(error).__name__}: {error}"[:500]
    finally:
        # Closing a broken plugin may fail too; the health answer stands.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(plugin.aclose(), timeout)
    return None
