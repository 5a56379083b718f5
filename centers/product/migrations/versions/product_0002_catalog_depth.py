"""product: categories, attributes, images, specs, channel listing and prices, search, ERP codes

Revision ID: product_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from kernel.rls import enable_tenant_rls

revision = "product_0002"
down_revision = "product_0001"
branch_labels = None
depends_on = None

NIL = "00000000-0000-0000-0000-000000000000"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "category",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("parent_id", sa.Uuid, nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        schema="product",
    )
    # One name per level of the tree (NULL parents are equal here: NULLS NOT DISTINCT).
    op.execute(
        "CREATE UNIQUE INDEX category_name_key ON product.category "
        f"(tenant_id, COALESCE(parent_id, '{NIL}'::uuid), name)"
    )
    op.add_column("product", sa.Column("category_id", sa.Uuid, nullable=True), schema="product")
    op.add_column(
        "product",
        sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        schema="product",
    )
    op.add_column(
        "product",
        sa.Column("images", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        schema="product",
    )
    op.add_column(
        "product", sa.Column("external_code", sa.String(64), nullable=True), schema="product"
    )
    op.add_column(
        "product", sa.Column("source_version", sa.BigInteger, nullable=True), schema="product"
    )
    op.add_column(
        "product",
        sa.Column("search_text", sa.Text, nullable=False, server_default=""),
        schema="product",
    )
    # Full text with the 'simple' configuration (no stemming, any language): words, and
    # runs of Chinese characters, are matched by prefix. pg_trgm would match inside a run
    # but is not in every PostgreSQL we run on (the embedded one lacks it).
    op.execute(
        "ALTER TABLE product.product ADD COLUMN search tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED"
    )
    op.execute("UPDATE product.product SET search_text = name || ' ' || description")
    # A GIN index cannot lead with a uuid without btree_gin; queries always add tenant_id.
    op.execute("CREATE INDEX product_search ON product.product USING gin (search)")
    op.create_index("product_category", "product", ["tenant_id", "category_id"], schema="product")
    op.create_index("product_name", "product", ["tenant_id", "name", "id"], schema="product")
    op.create_index(
        "product_external_code_key",
        "product",
        ["tenant_id", "external_code"],
        unique=True,
        schema="product",
        postgresql_where=sa.text("external_code IS NOT NULL"),
    )
    op.add_column(
        "sku",
        sa.Column("specs", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        schema="product",
    )
    op.create_table(
        "channel_listing",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("product_id", sa.Uuid, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("on_sale", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "product_id", "channel"),
        schema="product",
    )
    op.create_index(
        "channel_listing_on_sale",
        "channel_listing",
        ["tenant_id", "channel", "product_id"],
        schema="product",
        postgresql_where=sa.text("on_sale"),
    )
    op.create_table(
        "sku_price",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("sku_id", sa.Uuid, nullable=False),
        # '' = every channel; the nil uuid = every store.
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("store_id", sa.Uuid, nullable=False),
        sa.Column("price_amount", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "sku_id", "channel", "store_id"),
        sa.CheckConstraint("price_amount >= 0", name="sku_price_not_negative"),
        schema="product",
    )
    for table in ("category", "channel_listing", "sku_price"):
        enable_tenant_rls("product", table)


def downgrade() -> None:
    op.drop_table("sku_price", schema="product")
    op.drop_table("channel_listing", schema="product")
    op.drop_column("sku", "specs", schema="product")
    op.drop_index("product_external_code_key", table_name="product", schema="product")
    op.drop_index("product_name", table_name="product", schema="product")
    op.drop_index("product_category", table_name="product", schema="product")
    op.execute("DROP INDEX product.product_search")
    for column in (
        "search",
        "search_text",
        "source_version",
        "external_code",
        "images",
        "attributes",
        "category_id",
    ):
        op.drop_column("product", column, schema="product")
    op.drop_table("category", schema="product")
