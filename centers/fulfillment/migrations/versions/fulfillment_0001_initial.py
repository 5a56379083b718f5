"""fulfillment: shipments

Revision ID: fulfillment_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "fulfillment_0001"
down_revision = None
branch_labels = ("fulfillment",)
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS fulfillment")
    op.create_table(
        "shipment",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("store_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("carrier", sa.String(32), nullable=True),
        sa.Column("tracking_number", sa.String(64), nullable=True),
        sa.Column("pickup_code", sa.String(4), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'PREPARING', 'READY', 'SHIPPED', 'DELIVERED', 'PICKED_UP')",
            name="shipment_status_check",
        ),
        schema="fulfillment",
    )
    op.create_index(
        "shipment_order_idx", "shipment", ["tenant_id", "order_id"], schema="fulfillment"
    )
    op.create_index(
        "shipment_open_pickup_code_key",
        "shipment",
        ["tenant_id", "store_id", "pickup_code"],
        unique=True,
        postgresql_where=sa.text("status NOT IN ('DELIVERED', 'PICKED_UP')"),
        schema="fulfillment",
    )


def downgrade() -> None:
    op.drop_index("shipment_open_pickup_code_key", table_name="shipment", schema="fulfillment")
    op.drop_index("shipment_order_idx", table_name="shipment", schema="fulfillment")
    op.drop_table("shipment", schema="fulfillment")
    op.execute("DROP SCHEMA IF EXISTS fulfillment")
