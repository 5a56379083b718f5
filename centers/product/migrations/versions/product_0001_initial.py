"""product: products and SKUs

Revision ID: product_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "product_0001"
down_revision = None
branch_labels = ("product",)
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS product")
    op.create_table(
        "product",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.String(2000), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        schema="product",
    )
    op.create_table(
        "sku",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("product_id", sa.Uuid, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("price_amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "code", name="sku_code_key"),
        sa.CheckConstraint("price_amount >= 0", name="sku_price_not_negative"),
        schema="product",
    )
    op.create_index("sku_product", "sku", ["tenant_id", "product_id"], schema="product")


def downgrade() -> None:
    op.drop_table("sku", schema="product")
    op.drop_table("product", schema="product")
    op.execute("DROP SCHEMA IF EXISTS product")
