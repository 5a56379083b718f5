"""stock: locations, deduction strategies, reservation TTL, ERP versions, low stock, flash buckets

Revision ID: stock_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.rls import enable_tenant_rls

revision = "stock_0002"
down_revision = "stock_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column("level", sa.Column("low_threshold", sa.Integer, nullable=True), schema="stock")
    op.add_column(
        "level", sa.Column("source_version", sa.BigInteger, nullable=True), schema="stock"
    )
    op.add_column("level", sa.Column("source", sa.String(64), nullable=True), schema="stock")
    op.create_check_constraint(
        "level_low_threshold_not_negative", "level", "low_threshold >= 0", schema="stock"
    )
    op.add_column(
        "reservation",
        sa.Column("status", sa.String(12), nullable=False, server_default="HELD"),
        schema="stock",
    )
    op.add_column(
        "reservation",
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        schema="stock",
    )
    op.add_column(
        "reservation", sa.Column("bucket", sa.SmallInteger, nullable=True), schema="stock"
    )
    op.create_check_constraint(
        "reservation_status_check",
        "reservation",
        "status IN ('HELD', 'PENDING', 'EXPIRED', 'DEDUCTED')",
        schema="stock",
    )
    op.create_index(
        "reservation_level",
        "reservation",
        ["tenant_id", "store_id", "sku_id"],
        schema="stock",
    )
    op.create_table(
        "location",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("latitude_e6", sa.Integer, nullable=True),
        sa.Column("longitude_e6", sa.Integer, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "code", name="location_code_key"),
        sa.CheckConstraint("kind IN ('STORE', 'WAREHOUSE')", name="location_kind_check"),
        schema="stock",
    )
    op.create_table(
        "setting",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("deduction_strategy", sa.String(12), nullable=False),
        sa.Column("reservation_ttl_seconds", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
        sa.CheckConstraint(
            "deduction_strategy IN ('AT_ORDER', 'AT_PAYMENT')", name="setting_strategy_check"
        ),
        sa.CheckConstraint("reservation_ttl_seconds > 0", name="setting_ttl_positive"),
        schema="stock",
    )
    op.create_table(
        "product_strategy",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("product_id", sa.Uuid, nullable=False),
        sa.Column("deduction_strategy", sa.String(12), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "product_id"),
        sa.CheckConstraint(
            "deduction_strategy IN ('AT_ORDER', 'AT_PAYMENT')",
            name="product_strategy_check",
        ),
        schema="stock",
    )
    op.create_table(
        "flash_bucket",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("store_id", sa.Uuid, nullable=False),
        sa.Column("sku_id", sa.Uuid, nullable=False),
        sa.Column("bucket", sa.SmallInteger, nullable=False),
        sa.Column("remaining", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "store_id", "sku_id", "bucket"),
        sa.CheckConstraint("remaining >= 0", name="flash_bucket_never_negative"),
        schema="stock",
    )
    for table in ("location", "setting", "product_strategy", "flash_bucket"):
        enable_tenant_rls("stock", table)


def downgrade() -> None:
    op.drop_table("flash_bucket", schema="stock")
    op.drop_table("product_strategy", schema="stock")
    op.drop_table("setting", schema="stock")
    op.drop_table("location", schema="stock")
    op.drop_index("reservation_level", table_name="reservation", schema="stock")
    op.drop_constraint("reservation_status_check", "reservation", schema="stock")
    for column in ("bucket", "expires_at", "status"):
        op.drop_column("reservation", column, schema="stock")
    op.drop_constraint("level_low_threshold_not_negative", "level", schema="stock")
    for column in ("source", "source_version", "low_threshold"):
        op.drop_column("level", column, schema="stock")
