"""Per-tenant plugin installations and webhook endpoints: validation, sealing of secrets,
and every query on their tables. Never commits (the request or job boundary does)."""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from pydantic import BaseModel, SecretStr, ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.errors import NotFoundError, UserInputError
from kernel.ids import new_id
from kernel.plugins.manifest import TOPIC_PATTERN, PluginManifest
from kernel.plugins.sealing import Sealer
from kernel.plugins.tables import (
    delivery,
    plugin_installation,
    subscriber_health,
    webhook_endpoint,
)

MAX_WEBHOOKS_PER_TENANT = 20
MAX_TOPICS_PER_WEBHOOK = 50


def plugin_subscriber(name: str) -> str:
    return f"plugin:{name}"


def webhook_subscriber(webhook_id: uuid.UUID) -> str:
    return f"webhook:{webhook_id}"


@dataclass(frozen=True, slots=True)
class Installation:
    """A plugin as one tenant configured it. ``settings`` holds no secret; ``secrets_set``
    names the secret fields that have a stored value."""

    tenant_id: uuid.UUID
    plugin: str
    enabled: bool
    settings: Mapping[str, Any]
    secrets_set: frozenset[str]
    config_version: int
    sealed_secrets: str | None
    updated_at: datetime
    # The plugin's topics when last configured or enabled (None: never recorded); what
    # the fan-out uses while the plugin is missing from the platform.
    topics: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Webhook:
    tenant_id: uuid.UUID
    id: uuid.UUID
    url: str
    topics: tuple[str, ...]
    enabled: bool
    created_at: datetime
    sealed_secret: str


@dataclass(frozen=True, slots=True)
class Health:
    subscriber: str
    consecutive_failures: int
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    circuit_open_until: datetime | None
    delivered_count: int
    failed_count: int
    total_latency_ms: int


_installation_columns = (
    plugin_installation.c.tenant_id,
    plugin_installation.c.plugin,
    plugin_installation.c.enabled,
    plugin_installation.c.settings,
    plugin_installation.c.sealed_secrets,
    plugin_installation.c.config_version,
    plugin_installation.c.updated_at,
    plugin_installation.c.topics,
)


def _installation(row: Any, sealer: Sealer | None = None) -> Installation:
    secrets_set = frozenset(sealer.open_json(row.sealed_secrets)) if sealer else frozenset()
    return Installation(
        tenant_id=row.tenant_id,
        plugin=row.plugin,
        enabled=row.enabled,
        settings=dict(row.settings),
        secrets_set=secrets_set,
        config_version=row.config_version,
        sealed_secrets=row.sealed_secrets,
        updated_at=row.updated_at,
        topics=tuple(row.topics) if row.topics is not None else None,
    )


async def get_installation(
    session: AsyncSession, tenant_id: uuid.UUID, plugin: str, sealer: Sealer | None = None
) -> Installation | None:
    row = (
        await session.execute(
            sa.select(*_installation_columns).where(
                plugin_installation.c.tenant_id == tenant_id,
                plugin_installation.c.plugin == plugin,
            )
        )
    ).first()
    return _installation(row, sealer) if row else None


async def list_installations(
    session: AsyncSession, tenant_id: uuid.UUID, sealer: Sealer | None = None
) -> list[Installation]:
    # Bounded by the number of installed plugin distributions.
    rows = await session.execute(
        sa.select(*_installation_columns)
        .where(plugin_installation.c.tenant_id == tenant_id)
        .order_by(plugin_installation.c.plugin)
    )
    return [_installation(row, sealer) for row in rows.all()]


async def enabled_installations(
    session: AsyncSession, tenant_ids: Sequence[uuid.UUID]
) -> list[Installation]:
    """Enabled installations of these tenants (for the dispatcher's fan-out)."""
    if not tenant_ids:
        return []
    rows = await session.execute(
        sa.select(*_installation_columns).where(
            plugin_installation.c.tenant_id.in_(list(tenant_ids)),
            plugin_installation.c.enabled.is_(True),
        )
    )
    return [_installation(row) for row in rows.all()]


async def pulling_installations(
    session: AsyncSession, plugins: Sequence[str], tenant_id: uuid.UUID | None, limit: int
) -> list[Installation]:
    """Enabled installations of plugins that pull (across tenants unless one is given)."""
    if not plugins:
        return []
    query = sa.select(*_installation_columns).where(
        plugin_installation.c.enabled.is_(True),
        plugin_installation.c.plugin.in_(list(plugins)),
    )
    if tenant_id is not None:
        query = query.where(plugin_installation.c.tenant_id == tenant_id)
    rows = await session.execute(query.limit(limit))
    return [_installation(row) for row in rows.all()]


def _validation_error(error: ValidationError) -> UserInputError:
    first = error.errors()[0]
    location = [str(part) for part in first.get("loc", ())]
    where = ".".join(location) or "settings"
    return UserInputError(
        f"{where}: {first.get('msg', 'invalid')}",
        code="INVALID_SETTINGS",
        field=["input", "settings", *location],
    )


def validate_settings(
    manifest: PluginManifest, given: Mapping[str, Any], stored_secrets: Mapping[str, Any]
) -> BaseModel:
    """Validate ``given`` against the plugin's settings model. A secret field left out
    keeps its stored value, so an admin edits other settings without retyping secrets."""
    if not isinstance(given, Mapping):
        raise UserInputError(
            "settings must be a JSON object", code="INVALID_SETTINGS", field=["input", "settings"]
        )
    unknown = sorted(set(given) - set(manifest.settings_model.model_fields))
    if unknown:
        raise UserInputError(
            f"unknown setting {unknown[0]!r}",
            code="INVALID_SETTINGS",
            field=["input", "settings", unknown[0]],
        )
    merged = {**{k: v for k, v in stored_secrets.items() if k not in given}, **given}
    try:
        return manifest.settings_model.model_validate(merged)
    except ValidationError as error:
        raise _validation_error(error) from None


def split_settings(
    manifest: PluginManifest, model: BaseModel
) -> tuple[dict[str, Any], dict[str, str]]:
    """(public settings as JSON, secret values) of a validated settings model."""
    secret_names = manifest.secret_fields
    public: dict[str, Any] = model.model_dump(mode="json", exclude=set(secret_names))
    hidden: dict[str, str] = {}
    for name in secret_names:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            hidden[name] = value.get_secret_value()
    return public, hidden


def open_settings(
    manifest: PluginManifest, installation: Installation, sealer: Sealer
) -> BaseModel:
    """The full validated settings of an installation, secrets opened (in memory only)."""
    merged = {**installation.settings, **sealer.open_json(installation.sealed_secrets)}
    return manifest.settings_model.model_validate(merged)


async def configure(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    manifest: PluginManifest,
    given: Mapping[str, Any],
    sealer: Sealer,
) -> Installation:
    """Validate and store a tenant's settings for a plugin (created disabled)."""
    current = await get_installation(session, tenant_id, manifest.name)
    stored = sealer.open_json(current.sealed_secrets) if current else {}
    model = validate_settings(manifest, given, stored)
    public, hidden = split_settings(manifest, model)
    now = datetime.now(UTC)
    sealed = sealer.seal_json(hidden) if hidden else None
    statement = (
        insert(plugin_installation)
        .values(
            tenant_id=tenant_id,
            plugin=manifest.name,
            enabled=False,
            settings=public,
            sealed_secrets=sealed,
            config_version=1,
            sync_state={},
            topics=list(manifest.topics),
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=[plugin_installation.c.tenant_id, plugin_installation.c.plugin],
            set_={
                "settings": public,
                "sealed_secrets": sealed,
                "config_version": plugin_installation.c.config_version + 1,
                "topics": list(manifest.topics),
                "updated_at": now,
            },
        )
    )
    await session.execute(statement)
    found = await get_installation(session, tenant_id, manifest.name, sealer)
    assert found is not None
    return found


async def set_enabled(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    manifest: PluginManifest,
    enabled: bool,
    sealer: Sealer,
) -> Installation:
    """Enable (settings must validate) or disable a configured plugin."""
    current = await get_installation(session, tenant_id, manifest.name)
    if current is None:
        if not enabled:
            raise _not_configured(manifest.name)
        # A plugin whose settings all have defaults can be enabled straight away.
        current = await configure(session, tenant_id, manifest, {}, sealer)
    if enabled:
        try:
            open_settings(manifest, current, sealer)
        except ValidationError as error:
            raise _validation_error(error) from None
    await session.execute(
        sa.update(plugin_installation)
        .where(
            plugin_installation.c.tenant_id == tenant_id,
            plugin_installation.c.plugin == manifest.name,
        )
        .values(
            enabled=enabled,
            config_version=plugin_installation.c.config_version + 1,
            topics=list(manifest.topics),
            updated_at=datetime.now(UTC),
        )
    )
    found = await get_installation(session, tenant_id, manifest.name, sealer)
    assert found is not None
    return found


def _not_configured(plugin: str) -> UserInputError:
    return UserInputError(
        f"plugin {plugin!r} is not configured",
        code="PLUGIN_NOT_CONFIGURED",
        field=["input", "plugin"],
    )


async def disable(
    session: AsyncSession, tenant_id: uuid.UUID, plugin: str, sealer: Sealer | None = None
) -> Installation:
    """Disable an installation by name, whether or not its plugin is installed here (a
    plugin whose distribution is gone can still be turned off). Its waiting deliveries
    stay pending."""
    updated = await session.scalar(
        sa.update(plugin_installation)
        .where(
            plugin_installation.c.tenant_id == tenant_id,
            plugin_installation.c.plugin == plugin,
        )
        .values(
            enabled=False,
            config_version=plugin_installation.c.config_version + 1,
            updated_at=datetime.now(UTC),
        )
        .returning(plugin_installation.c.plugin)
    )
    if updated is None:
        raise _not_configured(plugin)
    found = await get_installation(session, tenant_id, plugin, sealer)
    assert found is not None
    return found


async def delete_installation(session: AsyncSession, tenant_id: uuid.UUID, plugin: str) -> None:
    """Remove a tenant's installation of a plugin (installed here or not) with its sealed
    secrets, its cursors, its waiting and dead deliveries and its health."""
    deleted = await session.scalar(
        sa.delete(plugin_installation)
        .where(
            plugin_installation.c.tenant_id == tenant_id,
            plugin_installation.c.plugin == plugin,
        )
        .returning(plugin_installation.c.plugin)
    )
    if deleted is None:
        raise _not_configured(plugin)
    subscriber = plugin_subscriber(plugin)
    for table in (delivery, subscriber_health):
        await session.execute(
            sa.delete(table).where(table.c.tenant_id == tenant_id, table.c.subscriber == subscriber)
        )


async def remember_topics(
    session: AsyncSession, tenant_id: uuid.UUID, plugin: str, topics: Sequence[str]
) -> None:
    """Record the topics of an installed plugin on its installation (for an installation
    made before they were recorded, or a new version of the plugin)."""
    await session.execute(
        sa.update(plugin_installation)
        .where(
            plugin_installation.c.tenant_id == tenant_id,
            plugin_installation.c.plugin == plugin,
        )
        .values(topics=list(topics))
    )


async def sync_state(session: AsyncSession, tenant_id: uuid.UUID, plugin: str) -> dict[str, Any]:
    """The inbound cursors a plugin stored (e.g. the last source version applied)."""
    value = await session.scalar(
        sa.select(plugin_installation.c.sync_state).where(
            plugin_installation.c.tenant_id == tenant_id,
            plugin_installation.c.plugin == plugin,
        )
    )
    return dict(value or {})


async def save_sync_state(
    session: AsyncSession, tenant_id: uuid.UUID, plugin: str, state: Mapping[str, Any]
) -> None:
    await session.execute(
        sa.update(plugin_installation)
        .where(
            plugin_installation.c.tenant_id == tenant_id,
            plugin_installation.c.plugin == plugin,
        )
        .values(sync_state=dict(state))
    )


# Webhooks -----------------------------------------------------------------------------


def _check_url(url: str, *, allow_private: bool) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise UserInputError(
            "url must be an absolute http(s) URL of at most 2000 characters",
            code="INVALID_URL",
            field=["input", "url"],
        )
    if parts.username or parts.password:
        raise UserInputError(
            "url must not carry credentials", code="INVALID_URL", field=["input", "url"]
        )
    if not allow_private:
        try:
            address = ipaddress.ip_address(parts.hostname)
        except ValueError:
            address = None
        if parts.hostname == "localhost" or (
            address is not None and (address.is_private or address.is_loopback)
        ):
            raise UserInputError(
                "url must not point to a private or loopback address",
                code="INVALID_URL",
                field=["input", "url"],
            )
    return url


def _check_topics(topics: Sequence[str]) -> tuple[str, ...]:
    if not topics or len(topics) > MAX_TOPICS_PER_WEBHOOK:
        raise UserInputError(
            f"give 1-{MAX_TOPICS_PER_WEBHOOK} topics (e.g. order.placed, order.*, *)",
            code="INVALID_TOPICS",
            field=["input", "topics"],
        )
    for index, topic in enumerate(topics):
        if not TOPIC_PATTERN.match(topic):
            raise UserInputError(
                f"bad topic {topic!r}: use 'center.event', 'center.*' or '*'",
                code="INVALID_TOPICS",
                field=["input", "topics", str(index)],
            )
    return tuple(sorted(set(topics)))


_webhook_columns = (
    webhook_endpoint.c.tenant_id,
    webhook_endpoint.c.id,
    webhook_endpoint.c.url,
    webhook_endpoint.c.topics,
    webhook_endpoint.c.enabled,
    webhook_endpoint.c.created_at,
    webhook_endpoint.c.sealed_secret,
)


def _webhook(row: Any) -> Webhook:
    return Webhook(
        tenant_id=row.tenant_id,
        id=row.id,
        url=row.url,
        topics=tuple(row.topics),
        enabled=row.enabled,
        created_at=row.created_at,
        sealed_secret=row.sealed_secret,
    )


async def register_webhook(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    url: str,
    topics: Sequence[str],
    sealer: Sealer,
    allow_private: bool,
) -> tuple[Webhook, str]:
    """Register an endpoint; returns it with its signing secret (shown this once)."""
    clean_url = _check_url(url, allow_private=allow_private)
    clean_topics = _check_topics(topics)
    count = await session.scalar(
        sa.select(sa.func.count()).where(webhook_endpoint.c.tenant_id == tenant_id)
    )
    if (count or 0) >= MAX_WEBHOOKS_PER_TENANT:
        raise UserInputError(
            f"a tenant has at most {MAX_WEBHOOKS_PER_TENANT} webhooks",
            code="TOO_MANY_WEBHOOKS",
            field=["input"],
        )
    secret = "whsec_" + secrets.token_urlsafe(32)
    value = Webhook(
        tenant_id=tenant_id,
        id=new_id(),
        url=clean_url,
        topics=clean_topics,
        enabled=True,
        created_at=datetime.now(UTC),
        sealed_secret=sealer.seal(secret),
    )
    await session.execute(
        webhook_endpoint.insert().values(
            tenant_id=value.tenant_id,
            id=value.id,
            url=value.url,
            topics=list(value.topics),
            sealed_secret=value.sealed_secret,
            enabled=True,
            created_at=value.created_at,
        )
    )
    return value, secret


async def list_webhooks(session: AsyncSession, tenant_id: uuid.UUID) -> list[Webhook]:
    # At most MAX_WEBHOOKS_PER_TENANT rows.
    rows = await session.execute(
        sa.select(*_webhook_columns)
        .where(webhook_endpoint.c.tenant_id == tenant_id)
        .order_by(webhook_endpoint.c.id)
    )
    return [_webhook(row) for row in rows.all()]


async def enabled_webhooks(session: AsyncSession, tenant_ids: Sequence[uuid.UUID]) -> list[Webhook]:
    if not tenant_ids:
        return []
    rows = await session.execute(
        sa.select(*_webhook_columns).where(
            webhook_endpoint.c.tenant_id.in_(list(tenant_ids)),
            webhook_endpoint.c.enabled.is_(True),
        )
    )
    return [_webhook(row) for row in rows.all()]


async def get_webhook(
    session: AsyncSession, tenant_id: uuid.UUID, webhook_id: uuid.UUID
) -> Webhook | None:
    row = (
        await session.execute(
            sa.select(*_webhook_columns).where(
                webhook_endpoint.c.tenant_id == tenant_id, webhook_endpoint.c.id == webhook_id
            )
        )
    ).first()
    return _webhook(row) if row else None


async def delete_webhook(
    session: AsyncSession, tenant_id: uuid.UUID, webhook_id: uuid.UUID
) -> None:
    """Remove an endpoint; its pending deliveries are dropped with it by the dispatcher."""
    deleted = await session.scalar(
        sa.delete(webhook_endpoint)
        .where(webhook_endpoint.c.tenant_id == tenant_id, webhook_endpoint.c.id == webhook_id)
        .returning(webhook_endpoint.c.id)
    )
    if deleted is None:
        raise NotFoundError("webhook not found")
    subscriber = webhook_subscriber(webhook_id)
    for table in (delivery, subscriber_health):
        await session.execute(
            sa.delete(table).where(table.c.tenant_id == tenant_id, table.c.subscriber == subscriber)
        )


# Health -------------------------------------------------------------------------------


async def health_of(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, Health]:
    """Health per subscriber of the tenant (bounded: its plugins and webhooks)."""
    rows = await session.execute(
        sa.select(subscriber_health).where(subscriber_health.c.tenant_id == tenant_id)
    )
    return {
        row.subscriber: Health(
            subscriber=row.subscriber,
            consecutive_failures=row.consecutive_failures,
            last_error=row.last_error,
            last_error_at=row.last_error_at,
            last_success_at=row.last_success_at,
            circuit_open_until=row.circuit_open_until,
            delivered_count=row.delivered_count,
            failed_count=row.failed_count,
            total_latency_ms=row.total_latency_ms,
        )
        for row in rows.all()
    }
