"""kernel: policy rules, outbox, idempotency keys

Revision ID: kernel_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "kernel_0001"
down_revision = None
branch_labels = ("kernel",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_rule",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("ptype", sa.String(4), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("object", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False, server_default=""),
        sa.Column("effect", sa.String(8), nullable=False, server_default="allow"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.CheckConstraint("ptype IN ('p', 'g', 'g2')", name="policy_rule_ptype"),
        sa.CheckConstraint("effect IN ('allow', 'deny')", name="policy_rule_effect"),
        schema="kernel",
    )
    op.create_index(
        "policy_rule_unique",
        "policy_rule",
        ["tenant_id", "ptype", "subject", "object", "action", "effect"],
        unique=True,
        schema="kernel",
    )
    op.execute(
        """
        CREATE FUNCTION kernel.notify_policy_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('zhongtai_policy', COALESCE(NEW.tenant_id, OLD.tenant_id)::text);
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER policy_rule_changed
        AFTER INSERT OR UPDATE OR DELETE ON kernel.policy_rule
        FOR EACH ROW EXECUTE FUNCTION kernel.notify_policy_change()
        """
    )

    op.create_table(
        "outbox_event",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("aggregate_id", sa.Uuid, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        schema="kernel",
    )
    op.create_index(
        "outbox_event_unpublished",
        "outbox_event",
        ["tenant_id", "occurred_at"],
        schema="kernel",
        postgresql_where=sa.text("published_at IS NULL"),
    )

    op.create_table(
        "idempotency_key",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("result_id", sa.Uuid, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "scope", "key"),
        schema="kernel",
    )


def downgrade() -> None:
    op.drop_table("idempotency_key", schema="kernel")
    op.drop_table("outbox_event", schema="kernel")
    op.execute("DROP TRIGGER policy_rule_changed ON kernel.policy_rule")
    op.execute("DROP FUNCTION kernel.notify_policy_change()")
    op.drop_table("policy_rule", schema="kernel")
