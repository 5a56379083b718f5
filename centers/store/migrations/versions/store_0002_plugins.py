"""store: per-tenant plugin installations, webhooks, delivery state and health

Revision ID: store_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "store_0002"
down_revision = "store_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "plugin_installation",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("plugin", sa.String(63), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("settings", JSONB, nullable=False),
        sa.Column("sealed_secrets", sa.Text, nullable=True),
        sa.Column("config_version", sa.Integer, nullable=False),
        sa.Column("sync_state", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "plugin"),
        schema="store",
    )
    op.create_table(
        "webhook_endpoint",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("topics", ARRAY(sa.String(100)), nullable=False),
        sa.Column("sealed_secret", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        schema="store",
    )
    op.create_table(
        "delivery",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("subscriber", sa.String(100), nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
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
        sa.PrimaryKeyConstraint("tenant_id", "subscriber", "event_id"),
        sa.CheckConstraint("state IN ('pending', 'delivered', 'dead')", name="delivery_state"),
        schema="store",
    )
    op.create_index("delivery_id", "delivery", ["tenant_id", "id"], unique=True, schema="store")
    # Due work: only pending rows, scanned by the dispatcher across tenants.
    op.create_index(
        "delivery_due",
        "delivery",
        ["tenant_id", "next_attempt_at"],
        schema="store",
        postgresql_where=sa.text("state = 'pending'"),
    )
    # Order per aggregate: is an earlier event of this aggregate still undelivered?
    op.create_index(
        "delivery_open_by_aggregate",
        "delivery",
        ["tenant_id", "subscriber", "aggregate_id", "occurred_at"],
        schema="store",
        postgresql_where=sa.text("state <> 'delivered'"),
    )
    op.create_index(
        "delivery_by_state",
        "delivery",
        ["tenant_id", "state", "subscriber"],
        schema="store",
    )
    op.create_table(
        "subscriber_health",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("subscriber", sa.String(100), nullable=False),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("circuit_open_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_count", sa.BigInteger, nullable=False),
        sa.Column("failed_count", sa.BigInteger, nullable=False),
        sa.Column("total_latency_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "subscriber"),
        schema="store",
    )


def downgrade() -> None:
    op.drop_table("subscriber_health", schema="store")
    op.drop_table("delivery", schema="store")
    op.drop_table("webhook_endpoint", schema="store")
    op.drop_table("plugin_installation", schema="store")
