"""Tables of per-tenant plugin configuration, webhooks and delivery state.

They live in PostgreSQL schema ``store`` and are created by the store center's
migration branch (``store_0002``): the store center owns tenant settings and per-tenant
plugin configuration (DESIGN §2). They are declared here because the dispatcher is
kernel code and the kernel imports no center (decision 0050). Every row carries
``tenant_id`` first in its primary key and every index.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = sa.MetaData(schema="store")

plugin_installation = sa.Table(
    "plugin_installation",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("plugin", sa.String(63), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    # Validated settings without the secret fields.
    sa.Column("settings", JSONB, nullable=False),
    # The secret fields as JSON, sealed with Fernet (kernel.plugins.sealing).
    sa.Column("sealed_secrets", sa.Text, nullable=True),
    # Bumped on every change, so dispatchers rebuild their cached instance.
    sa.Column("config_version", sa.Integer, nullable=False),
    # Inbound sync cursors (source versions) the plugin keeps between pulls.
    sa.Column("sync_state", JSONB, nullable=False),
    # The manifest's topics when last configured or enabled: events keep being fanned
    # out (and wait) while the plugin is missing (store_0004, decision 0120).
    sa.Column("topics", ARRAY(sa.String(100)), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

webhook_endpoint = sa.Table(
    "webhook_endpoint",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("topics", ARRAY(sa.String(100)), nullable=False),
    sa.Column("sealed_secret", sa.Text, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# One row per (subscriber, event): "plugin:<name>" or "webhook:<id>".
delivery = sa.Table(
    "delivery",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("subscriber", sa.String(100), primary_key=True),
    sa.Column("event_id", sa.Uuid, primary_key=True),
    sa.Column("id", sa.Uuid, nullable=False),
    sa.Column("topic", sa.String(100), nullable=False),
    sa.Column("aggregate_id", sa.Uuid, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

subscriber_health = sa.Table(
    "subscriber_health",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("subscriber", sa.String(100), primary_key=True),
    sa.Column("consecutive_failures", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("circuit_open_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("delivered_count", sa.BigInteger, nullable=False),
    sa.Column("failed_count", sa.BigInteger, nullable=False),
    sa.Column("total_latency_ms", sa.BigInteger, nullable=False),
)
