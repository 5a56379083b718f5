"""fulfillment: dispatch decisions, shipment lines (split/merge), tracking events, riders,
pickup points

Revision ID: fulfillment_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from kernel.rls import enable_tenant_rls

revision = "fulfillment_0002"
down_revision = "fulfillment_0001"
branch_labels = None
depends_on = None

STATUSES = (
    "'PENDING', 'PREPARING', 'READY', 'SHIPPED', 'DELIVERED', 'PICKED_UP', 'CONFIRMED', "
    "'MERGED', 'CANCELLED'"
)
CLOSED = "'DELIVERED', 'PICKED_UP', 'CONFIRMED', 'MERGED', 'CANCELLED'"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_constraint("shipment_status_check", "shipment", schema="fulfillment")
    op.create_check_constraint(
        "shipment_status_check", "shipment", f"status IN ({STATUSES})", schema="fulfillment"
    )
    op.drop_index("shipment_open_pickup_code_key", table_name="shipment", schema="fulfillment")
    op.create_index(
        "shipment_open_pickup_code_key",
        "shipment",
        ["tenant_id", "store_id", "pickup_code"],
        unique=True,
        postgresql_where=sa.text(f"status NOT IN ({CLOSED})"),
        schema="fulfillment",
    )
    op.add_column(
        "shipment", sa.Column("pickup_point_id", sa.Uuid, nullable=True), schema="fulfillment"
    )
    op.add_column(
        "shipment", sa.Column("rider_status", sa.String(20), nullable=True), schema="fulfillment"
    )
    op.add_column(
        "shipment", sa.Column("rider_name", sa.String(64), nullable=True), schema="fulfillment"
    )
    op.add_column(
        "shipment", sa.Column("rider_phone", sa.String(32), nullable=True), schema="fulfillment"
    )
    op.add_column(
        "shipment",
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        schema="fulfillment",
    )
    op.create_check_constraint(
        "shipment_rider_status_check",
        "shipment",
        "rider_status IN ('ASSIGNED', 'AT_STORE', 'PICKED_UP', 'DELIVERED', 'CANCELLED')",
        schema="fulfillment",
    )
    op.create_table(
        "shipment_line",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("shipment_id", sa.Uuid, nullable=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("sku_id", sa.Uuid, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "shipment_id", "line_no"),
        sa.CheckConstraint("quantity > 0", name="shipment_line_positive"),
        schema="fulfillment",
    )
    op.create_index(
        "shipment_line_order", "shipment_line", ["tenant_id", "order_id"], schema="fulfillment"
    )
    op.create_table(
        "tracking_event",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("shipment_id", sa.Uuid, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("location", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        # Carriers resend their history: the same event twice is stored once.
        sa.UniqueConstraint(
            "tenant_id", "shipment_id", "occurred_at", "description", name="tracking_event_once"
        ),
        schema="fulfillment",
    )
    op.create_table(
        "dispatch",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("plan", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "order_id"),
        schema="fulfillment",
    )
    op.create_table(
        "pickup_point",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("latitude_e6", sa.Integer, nullable=True),
        sa.Column("longitude_e6", sa.Integer, nullable=True),
        sa.Column("store_id", sa.Uuid, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "code", name="pickup_point_code_key"),
        schema="fulfillment",
    )
    for table in ("shipment_line", "tracking_event", "dispatch", "pickup_point"):
        enable_tenant_rls("fulfillment", table)


def downgrade() -> None:
    for table in ("pickup_point", "dispatch", "tracking_event", "shipment_line"):
        op.drop_table(table, schema="fulfillment")
    op.drop_constraint("shipment_rider_status_check", "shipment", schema="fulfillment")
    for column in ("updated_at", "rider_phone", "rider_name", "rider_status", "pickup_point_id"):
        op.drop_column("shipment", column, schema="fulfillment")
    op.drop_index("shipment_open_pickup_code_key", table_name="shipment", schema="fulfillment")
    op.create_index(
        "shipment_open_pickup_code_key",
        "shipment",
        ["tenant_id", "store_id", "pickup_code"],
        unique=True,
        postgresql_where=sa.text("status NOT IN ('DELIVERED', 'PICKED_UP')"),
        schema="fulfillment",
    )
    op.drop_constraint("shipment_status_check", "shipment", schema="fulfillment")
    op.create_check_constraint(
        "shipment_status_check",
        "shipment",
        "status IN ('PENDING', 'PREPARING', 'READY', 'SHIPPED', 'DELIVERED', 'PICKED_UP')",
        schema="fulfillment",
    )
