"""payment: payments

Revision ID: payment_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "payment_0001"
down_revision = None
branch_labels = ("payment",)
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS payment")
    op.create_table(
        "payment",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("tender", sa.Text, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("provider_reference", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.CheckConstraint(
            "tender IN ('ONLINE', 'CASH', 'POINTS', 'STORED_VALUE')", name="payment_tender_check"
        ),
        sa.CheckConstraint("amount > 0", name="payment_amount_check"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'REFUNDED')",
            name="payment_status_check",
        ),
        schema="payment",
    )
    op.create_index("payment_order_idx", "payment", ["tenant_id", "order_id"], schema="payment")


def downgrade() -> None:
    op.drop_index("payment_order_idx", table_name="payment", schema="payment")
    op.drop_table("payment", schema="payment")
    op.execute("DROP SCHEMA IF EXISTS payment")
