"""The tenant's integrations through the admin API: available plugins, per-tenant
enablement and validated settings (secrets never returned), signed webhooks (secret
shown once), dead letters and their replay, health and delivery metrics."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from enum import Enum
from typing import cast

import strawberry
from strawberry import Info
from strawberry.scalars import JSON

from centers.store import integrations, policy
from kernel.context import RequestContext
from kernel.dispatch import deliveries
from kernel.errors import UserInputError
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.types import UserError
from kernel.plugins import storage
from kernel.plugins.manifest import PluginManifest

Ctx = Info[RequestContext, None]


@strawberry.enum(description="What the dispatcher last saw of a subscriber.")
class SubscriberStatus(Enum):
    HEALTHY = "HEALTHY"
    FAILING = "FAILING"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"
    IDLE = "IDLE"
    MISSING = strawberry.enum_value(
        "MISSING",
        description="The plugin is not installed on the platform or failed to load: its "
        "events wait, pending, until it is back or the installation is deleted.",
    )


@strawberry.type(description="Health and delivery metrics of one plugin or webhook.")
class DeliveryHealth:
    subscriber: str = strawberry.field(description='"plugin:<name>" or "webhook:<id>".')
    status: SubscriberStatus
    consecutive_failures: int
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    circuit_open_until: datetime | None
    delivered: int = strawberry.field(description="Events delivered so far.")
    failed_attempts: int = strawberry.field(description="Attempts that failed (retried or not).")
    pending: int = strawberry.field(description="Events waiting (for retry or their turn).")
    dead: int = strawberry.field(description="Dead letters waiting for a replay.")
    oldest_pending_at: datetime | None = strawberry.field(
        description="When the oldest waiting event occurred: the subscriber's lag."
    )
    average_latency_ms: int | None

    @classmethod
    def of(cls, value: integrations.SubscriberStatus) -> DeliveryHealth:
        return cls(
            subscriber=value.subscriber,
            status=SubscriberStatus(value.status),
            consecutive_failures=value.consecutive_failures,
            last_error=value.last_error,
            last_error_at=value.last_error_at,
            last_success_at=value.last_success_at,
            circuit_open_until=value.circuit_open_until,
            delivered=value.delivered,
            failed_attempts=value.failed_attempts,
            pending=value.pending,
            dead=value.dead,
            oldest_pending_at=value.oldest_pending_at,
            average_latency_ms=value.average_latency_ms,
        )


@strawberry.type(description="A plugin installed on the platform, available to enable.")
class AvailablePlugin:
    name: str
    version: str
    title: str
    description: str
    ports: list[str] = strawberry.field(description='Center ports implemented, "order.OrderSink".')
    topics: list[str] = strawberry.field(description="Outbox topics it receives.")
    settings_schema: JSON = strawberry.field(description="JSON Schema of its settings.")
    secret_fields: list[str] = strawberry.field(
        description="Settings stored encrypted and never returned."
    )

    @classmethod
    def of(cls, value: PluginManifest) -> AvailablePlugin:
        return cls(
            name=value.name,
            version=value.version,
            title=value.title,
            description=value.description,
            ports=list(value.ports),
            topics=list(value.topics),
            settings_schema=json.loads(json.dumps(value.settings_model.model_json_schema())),
            secret_fields=sorted(value.secret_fields),
        )


@strawberry.type(
    description="A plugin installed on the platform whose distribution failed to load."
)
class PluginLoadError:
    plugin: str
    error: str


@strawberry.type(description="A plugin as this tenant configured it.")
class PluginInstallation:
    plugin: str
    enabled: bool
    available: bool = strawberry.field(
        description="Whether the plugin is installed on the platform and loaded; when not, "
        "its health is MISSING: disable or delete the installation, or have it reinstalled."
    )
    unavailable_reason: str | None = strawberry.field(
        description="Why the plugin cannot run: not installed, or the error it failed to load with."
    )
    settings: JSON = strawberry.field(description="Settings without the secret fields.")
    secrets_set: list[str] = strawberry.field(
        description="Secret fields that have a stored value (values are never returned)."
    )
    updated_at: datetime
    health: DeliveryHealth

    @classmethod
    def of(
        cls, value: storage.Installation, health: integrations.SubscriberStatus
    ) -> PluginInstallation:
        return cls(
            plugin=value.plugin,
            enabled=value.enabled,
            available=health.unavailable_reason is None,
            unavailable_reason=health.unavailable_reason,
            settings=cast(JSON, dict(value.settings)),
            secrets_set=sorted(value.secrets_set),
            updated_at=value.updated_at,
            health=DeliveryHealth.of(health),
        )


@strawberry.type(description="An endpoint that receives signed events (HMAC-SHA256).")
class Webhook:
    id: strawberry.ID
    url: str
    topics: list[str]
    enabled: bool
    created_at: datetime
    health: DeliveryHealth

    @classmethod
    def of(cls, value: storage.Webhook, health: integrations.SubscriberStatus) -> Webhook:
        return cls(
            id=strawberry.ID(str(value.id)),
            url=value.url,
            topics=list(value.topics),
            enabled=value.enabled,
            created_at=value.created_at,
            health=DeliveryHealth.of(health),
        )


@strawberry.type(description="An event a subscriber could not take after every retry.")
class DeadLetter:
    id: strawberry.ID
    subscriber: str
    event_id: strawberry.ID = strawberry.field(description="What the consumer dedupes by.")
    topic: str
    aggregate_id: strawberry.ID
    occurred_at: datetime
    attempts: int
    last_error: str | None
    failed_at: datetime

    @classmethod
    def of(cls, value: deliveries.DeadLetter) -> DeadLetter:
        return cls(
            id=strawberry.ID(str(value.id)),
            subscriber=value.subscriber,
            event_id=strawberry.ID(str(value.event_id)),
            topic=value.topic,
            aggregate_id=strawberry.ID(str(value.aggregate_id)),
            occurred_at=value.occurred_at,
            attempts=value.attempts,
            last_error=value.last_error,
            failed_at=value.failed_at,
        )


async def _installation(context: RequestContext, value: storage.Installation) -> PluginInstallation:
    statuses = await integrations.statuses(context.session, context.tenant_id, context.plugins)
    subscriber = storage.plugin_subscriber(value.plugin)
    return PluginInstallation.of(
        value, integrations.status_of(statuses, subscriber, context.plugins)
    )


@strawberry.input
class ConfigurePluginInput:
    plugin: str
    settings: JSON = strawberry.field(
        description="Settings object; a secret field left out keeps its stored value."
    )


@strawberry.type
class ConfigurePluginPayload:
    installation: PluginInstallation | None
    user_errors: list[UserError]


@strawberry.input
class EnablePluginInput:
    plugin: str


@strawberry.type
class EnablePluginPayload:
    installation: PluginInstallation | None
    user_errors: list[UserError]


@strawberry.input
class DisablePluginInput:
    plugin: str


@strawberry.type
class DisablePluginPayload:
    installation: PluginInstallation | None
    user_errors: list[UserError]


@strawberry.input
class DeletePluginInstallationInput:
    plugin: str


@strawberry.type
class DeletePluginInstallationPayload:
    deleted_plugin: str | None
    user_errors: list[UserError]


@strawberry.input
class CheckPluginInput:
    plugin: str


@strawberry.type
class CheckPluginPayload:
    ok: bool
    error: str | None = strawberry.field(description="What the backend or plugin said.")
    user_errors: list[UserError]


@strawberry.input
class RegisterWebhookInput:
    url: str
    topics: list[str] = strawberry.field(description='"order.placed", "order.*" or "*".')


@strawberry.type
class RegisterWebhookPayload:
    webhook: Webhook | None
    secret: str | None = strawberry.field(
        description="The signing secret, shown this once: store it now."
    )
    user_errors: list[UserError]


@strawberry.input
class DeleteWebhookInput:
    id: strawberry.ID


@strawberry.type
class DeleteWebhookPayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.input
class ReplayDeadLettersInput:
    ids: list[strawberry.ID]


@strawberry.type
class ReplayDeadLettersPayload:
    replayed_ids: list[strawberry.ID]
    user_errors: list[UserError]


@strawberry.type
class PluginQuery:
    @query(policy.READ_INTEGRATIONS, description="Plugins installed on the platform.")
    def available_plugins(self, info: Ctx) -> list[AvailablePlugin]:
        return [AvailablePlugin.of(m) for m in integrations.installed(info.context.plugins).all()]

    @query(
        policy.READ_INTEGRATIONS,
        description="Plugins installed on the platform that failed to load, with the error.",
    )
    def plugin_load_errors(self, info: Ctx) -> list[PluginLoadError]:
        errors = integrations.installed(info.context.plugins).load_errors
        return [PluginLoadError(plugin=name, error=errors[name]) for name in sorted(errors)]

    @query(policy.READ_INTEGRATIONS, description="The tenant's configured plugins.")
    async def plugin_installations(self, info: Ctx) -> list[PluginInstallation]:
        context = info.context
        found = await storage.list_installations(
            context.session, context.tenant_id, integrations.sealer()
        )
        statuses = await integrations.statuses(context.session, context.tenant_id, context.plugins)
        return [
            PluginInstallation.of(
                i,
                integrations.status_of(
                    statuses, storage.plugin_subscriber(i.plugin), context.plugins
                ),
            )
            for i in found
        ]

    @query(policy.READ_INTEGRATIONS, description="The tenant's webhooks (at most 20).")
    async def webhooks(self, info: Ctx) -> list[Webhook]:
        context = info.context
        found = await storage.list_webhooks(context.session, context.tenant_id)
        statuses = await integrations.statuses(context.session, context.tenant_id, context.plugins)
        return [
            Webhook.of(w, integrations.status_of(statuses, storage.webhook_subscriber(w.id)))
            for w in found
        ]

    @query(policy.READ_INTEGRATIONS, description="Events no retry could deliver, oldest first.")
    async def dead_letters(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[DeadLetter]:
        context = info.context
        page = page_request(first, after)
        rows = await deliveries.dead_letters(
            context.session, context.tenant_id, after=page.after_id(), limit=page.limit
        )
        return connection(rows, page, DeadLetter.of, lambda d: [d.id])

    @query(
        policy.READ_INTEGRATIONS,
        description="Health and delivery metrics of every subscriber with any history.",
    )
    async def delivery_health(self, info: Ctx) -> list[DeliveryHealth]:
        context = info.context
        statuses = await integrations.statuses(context.session, context.tenant_id, context.plugins)
        return [DeliveryHealth.of(s) for s in statuses.values()]


def _ids(values: list[strawberry.ID]) -> list[uuid.UUID]:
    parsed = []
    for index, value in enumerate(values):
        found = try_parse_id(value)
        if found is None:
            raise UserInputError(
                f"malformed id {value!r}", code="INVALID_ID", field=["input", "ids", str(index)]
            )
        parsed.append(found)
    return parsed


@strawberry.type
class PluginMutation:
    @mutation(
        policy.MANAGE_INTEGRATIONS,
        description="Validate and store the tenant's settings of a plugin (a new one starts "
        "disabled). Codes: UNKNOWN_PLUGIN, INVALID_SETTINGS.",
    )
    async def configure_plugin(
        self, info: Ctx, input: ConfigurePluginInput
    ) -> ConfigurePluginPayload:
        context = info.context
        done, errors = await attempt(
            context,
            lambda: integrations.configure_plugin(
                context.session, context.tenant_id, input.plugin, input.settings, context.plugins
            ),
        )
        return ConfigurePluginPayload(
            installation=await _installation(context, done) if done else None, user_errors=errors
        )

    @mutation(
        policy.MANAGE_INTEGRATIONS,
        description="Start delivering events to a plugin. Codes: UNKNOWN_PLUGIN, "
        "INVALID_SETTINGS (its settings are incomplete).",
    )
    async def enable_plugin(self, info: Ctx, input: EnablePluginInput) -> EnablePluginPayload:
        context = info.context
        done, errors = await attempt(
            context,
            lambda: integrations.set_plugin_enabled(
                context.session, context.tenant_id, input.plugin, True, context.plugins
            ),
        )
        return EnablePluginPayload(
            installation=await _installation(context, done) if done else None, user_errors=errors
        )

    @mutation(
        policy.MANAGE_INTEGRATIONS,
        description="Stop delivering to a plugin (installed on the platform or MISSING); "
        "its waiting events resume on enable. Codes: PLUGIN_NOT_CONFIGURED.",
    )
    async def disable_plugin(self, info: Ctx, input: DisablePluginInput) -> DisablePluginPayload:
        context = info.context
        done, errors = await attempt(
            context,
            lambda: integrations.set_plugin_enabled(
                context.session, context.tenant_id, input.plugin, False, context.plugins
            ),
        )
        return DisablePluginPayload(
            installation=await _installation(context, done) if done else None, user_errors=errors
        )

    @mutation(
        policy.MANAGE_INTEGRATIONS,
        description="Delete the tenant's installation of a plugin (installed on the platform "
        "or MISSING): its settings, sealed secrets, cursors, waiting and dead events and "
        "health. Codes: PLUGIN_NOT_CONFIGURED.",
    )
    async def delete_plugin_installation(
        self, info: Ctx, input: DeletePluginInstallationInput
    ) -> DeletePluginInstallationPayload:
        context = info.context

        async def run() -> str:
            await integrations.delete_plugin_installation(
                context.session, context.tenant_id, input.plugin
            )
            return input.plugin

        done, errors = await attempt(context, run)
        return DeletePluginInstallationPayload(deleted_plugin=done, user_errors=errors)

    @mutation(
        policy.MANAGE_INTEGRATIONS,
        description="Ask the plugin to reach its backend now (under the call timeout). "
        "Codes: UNKNOWN_PLUGIN, PLUGIN_NOT_CONFIGURED.",
    )
    async def check_plugin(self, info: Ctx, input: CheckPluginInput) -> CheckPluginPayload:
        context = info.context
        outcome, errors = await attempt(
            context,
            lambda: _check(context, input.plugin),
        )
        if errors:
            return CheckPluginPayload(ok=False, error=None, user_errors=errors)
        error = outcome[0] if outcome else None
        return CheckPluginPayload(ok=error is None, error=error, user_errors=[])

    @mutation(
        policy.MANAGE_INTEGRATIONS,
        description="Register an endpoint for signed events; the secret is returned once. "
        "Codes: INVALID_URL, INVALID_TOPICS, TOO_MANY_WEBHOOKS.",
    )
    async def register_webhook(
        self, info: Ctx, input: RegisterWebhookInput
    ) -> RegisterWebhookPayload:
        context = info.context
        done, errors = await attempt(
            context,
            lambda: integrations.register_webhook(
                context.session, context.tenant_id, input.url, input.topics
            ),
        )
        if done is None:
            return RegisterWebhookPayload(webhook=None, secret=None, user_errors=errors)
        webhook, secret = done
        health = integrations.status_of({}, storage.webhook_subscriber(webhook.id))
        return RegisterWebhookPayload(
            webhook=Webhook.of(webhook, health), secret=secret, user_errors=[]
        )

    @mutation(
        policy.MANAGE_INTEGRATIONS,
        description="Remove a webhook and its undelivered events. Codes: WEBHOOK_NOT_FOUND.",
    )
    async def delete_webhook(self, info: Ctx, input: DeleteWebhookInput) -> DeleteWebhookPayload:
        context = info.context
        webhook_id = try_parse_id(input.id)

        async def run() -> uuid.UUID:
            if webhook_id is None:
                raise UserInputError(
                    "webhook not found", code="WEBHOOK_NOT_FOUND", field=["input", "id"]
                )
            await integrations.delete_webhook(context.session, context.tenant_id, webhook_id)
            return webhook_id

        done, errors = await attempt(context, run)
        return DeleteWebhookPayload(
            deleted_id=strawberry.ID(str(done)) if done else None, user_errors=errors
        )

    @mutation(
        policy.MANAGE_INTEGRATIONS,
        description="Send dead letters again, with fresh retries (1-100 ids). Codes: "
        "INVALID_ID, INVALID_IDS, DEAD_LETTER_NOT_FOUND.",
    )
    async def replay_dead_letters(
        self, info: Ctx, input: ReplayDeadLettersInput
    ) -> ReplayDeadLettersPayload:
        context = info.context

        async def run() -> list[uuid.UUID]:
            return await integrations.replay_dead_letters(
                context.session, context.tenant_id, _ids(input.ids)
            )

        done, errors = await attempt(context, run)
        return ReplayDeadLettersPayload(
            replayed_ids=[strawberry.ID(str(i)) for i in done or []], user_errors=errors
        )


async def _check(context: RequestContext, plugin: str) -> tuple[str | None]:
    return (
        await integrations.check_plugin(
            context.session, context.tenant_id, plugin, context.plugins
        ),
    )
