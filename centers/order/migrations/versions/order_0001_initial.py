"""order: trade orders and lines

Revision ID: order_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "order_0001"
down_revision = None
branch_labels = ("order",)
depends_on = None


def upgrade() -> None:
    op.execute('CREATE SCHEMA IF NOT EXISTS "order"')
    op.create_table(
        "trade_order",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("store_id", sa.Uuid, nullable=False),
        sa.Column("buyer_subject", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_amount", sa.BigInteger, nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "number", name="trade_order_number_key"),
        sa.CheckConstraint("status IN ('PLACED', 'CANCELLED')", name="trade_order_status"),
        schema="order",
    )
    op.create_index(
        "trade_order_buyer", "trade_order", ["tenant_id", "buyer_subject", "id"], schema="order"
    )
    op.create_index(
        "trade_order_store", "trade_order", ["tenant_id", "store_id", "id"], schema="order"
    )
    op.create_table(
        "order_line",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("sku_id", sa.Uuid, nullable=False),
        sa.Column("sku_code", sa.String(64), nullable=False),
        sa.Column("sku_name", sa.String(200), nullable=False),
        sa.Column("unit_price_amount", sa.BigInteger, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("line_amount", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", "line_no"),
        schema="order",
    )


def downgrade() -> None:
    op.drop_table("order_line", schema="order")
    op.drop_table("trade_order", schema="order")
    op.execute('DROP SCHEMA IF EXISTS "order"')
