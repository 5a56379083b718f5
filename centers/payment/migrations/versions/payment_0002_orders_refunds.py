"""payment: order payments, tender details, refunds per tender and line, provider
notifications and accounts, reconciliation indexes; RLS on the new tables

Revision ID: payment_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from kernel.rls import enable_tenant_rls

revision = "payment_0002"
down_revision = "payment_0001"
branch_labels = None
# After the kernel created the roles and walled off the first tables.
depends_on = ("kernel_0003",)


def upgrade() -> None:
    for column in (
        sa.Column("provider", sa.String(32), nullable=True),
        sa.Column("store_id", sa.Uuid, nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_amount", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("member_id", sa.Uuid, nullable=True),
        sa.Column("points", sa.Integer, nullable=True),
    ):
        op.add_column("payment", column, schema="payment")
    # Cash recorded before this revision was captured when it was recorded.
    op.execute("UPDATE payment.payment SET captured_at = created_at WHERE status = 'SUCCEEDED'")
    op.drop_constraint("payment_status_check", "payment", schema="payment")
    op.create_check_constraint(
        "payment_status_check",
        "payment",
        "status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'REFUNDED', 'CLOSED')",
        schema="payment",
    )
    op.create_check_constraint(
        "payment_refunded_check",
        "payment",
        "refunded_amount >= 0 AND refunded_amount <= amount",
        schema="payment",
    )
    op.create_index(
        "payment_store_day", "payment", ["tenant_id", "store_id", "captured_at"], schema="payment"
    )
    op.create_table(
        "order_payment",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("store_id", sa.Uuid, nullable=True),
        sa.Column("member_id", sa.Uuid, nullable=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("paid_amount", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("refunded_amount", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("line_amounts", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "order_id"),
        sa.CheckConstraint("amount > 0", name="order_payment_amount_check"),
        sa.CheckConstraint(
            "paid_amount >= 0 AND paid_amount <= amount", name="order_payment_paid_check"
        ),
        sa.CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= paid_amount",
            name="order_payment_refunded_check",
        ),
        sa.CheckConstraint(
            "status IN ('OPEN', 'PAID', 'CLOSED')", name="order_payment_status_check"
        ),
        schema="payment",
    )
    op.create_index(
        "order_payment_store_day",
        "order_payment",
        ["tenant_id", "store_id", "paid_at"],
        schema="payment",
    )
    op.create_table(
        "refund",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("payment_id", sa.Uuid, nullable=False),
        sa.Column("request_key", sa.String(160), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("provider_reference", sa.String(128), nullable=True),
        sa.Column("store_id", sa.Uuid, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.CheckConstraint("amount > 0", name="refund_amount_check"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUCCEEDED', 'FAILED')", name="refund_status_check"
        ),
        schema="payment",
    )
    op.create_index("refund_order", "refund", ["tenant_id", "order_id", "id"], schema="payment")
    op.create_index("refund_payment", "refund", ["tenant_id", "payment_id"], schema="payment")
    op.create_table(
        "refund_line",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("refund_id", sa.Uuid, nullable=False),
        sa.Column("line_id", sa.Uuid, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "refund_id", "line_id"),
        sa.CheckConstraint("amount > 0", name="refund_line_amount_check"),
        schema="payment",
    )
    op.create_table(
        "provider_notification",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("notification_id", sa.String(128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "provider", "notification_id"),
        schema="payment",
    )
    op.create_table(
        "provider_account",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("settings", JSONB, nullable=False),
        sa.Column("sealed_secret", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "provider"),
        schema="payment",
    )
    for table in (
        "order_payment",
        "refund",
        "refund_line",
        "provider_notification",
        "provider_account",
    ):
        enable_tenant_rls("payment", table)


def downgrade() -> None:
    for table in (
        "provider_account",
        "provider_notification",
        "refund_line",
        "refund",
        "order_payment",
    ):
        op.drop_table(table, schema="payment")
    op.drop_index("payment_store_day", table_name="payment", schema="payment")
    op.drop_constraint("payment_refunded_check", "payment", schema="payment")
    op.drop_constraint("payment_status_check", "payment", schema="payment")
    op.create_check_constraint(
        "payment_status_check",
        "payment",
        "status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'REFUNDED')",
        schema="payment",
    )
    for name in ("points", "member_id", "refunded_amount", "captured_at", "store_id", "provider"):
        op.drop_column("payment", name, schema="payment")
