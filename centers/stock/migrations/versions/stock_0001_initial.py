"""stock: levels, reservations, movements

Revision ID: stock_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "stock_0001"
down_revision = None
branch_labels = ("stock",)
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS stock")
    op.create_table(
        "level",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("store_id", sa.Uuid, nullable=False),
        sa.Column("sku_id", sa.Uuid, nullable=False),
        sa.Column("on_hand", sa.Integer, nullable=False),
        sa.Column("reserved", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "store_id", "sku_id"),
        sa.CheckConstraint("reserved >= 0 AND on_hand >= reserved", name="level_never_oversold"),
        schema="stock",
    )
    op.create_table(
        "reservation",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("sku_id", sa.Uuid, nullable=False),
        sa.Column("store_id", sa.Uuid, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", "sku_id"),
        sa.CheckConstraint("quantity > 0", name="reservation_positive"),
        schema="stock",
    )
    op.create_table(
        "movement",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("store_id", sa.Uuid, nullable=False),
        sa.Column("sku_id", sa.Uuid, nullable=False),
        sa.Column("on_hand_delta", sa.Integer, nullable=False),
        sa.Column("reserved_delta", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("source_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        schema="stock",
    )
    op.create_index(
        "movement_level",
        "movement",
        ["tenant_id", "store_id", "sku_id", "created_at"],
        schema="stock",
    )


def downgrade() -> None:
    op.drop_table("movement", schema="stock")
    op.drop_table("reservation", schema="stock")
    op.drop_table("level", schema="stock")
    op.execute("DROP SCHEMA IF EXISTS stock")
