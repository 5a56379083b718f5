"""order: order types, amounts at every level, sub-orders, discounts, history, settings

Revision ID: order_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "order_0002"
down_revision = "order_0001"
branch_labels = None
depends_on = None

_MONEY_COLUMNS = (
    "list_amount",
    "discount_amount",
    "delivery_fee",
    "paid_amount",
    "refunded_amount",
)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    # States now come from each order type's state machine (data), not a fixed list.
    op.drop_constraint("trade_order_status", "trade_order", schema="order", type_="check")
    op.alter_column("trade_order", "status", type_=sa.String(24), schema="order")
    op.add_column(
        "trade_order",
        sa.Column("order_type", sa.String(16), nullable=False, server_default="STANDARD"),
        schema="order",
    )
    op.add_column(
        "trade_order",
        sa.Column("channel", sa.String(32), nullable=False, server_default="POS"),
        schema="order",
    )
    for column in (*_MONEY_COLUMNS, "deposit_amount"):
        op.add_column(
            "trade_order",
            sa.Column(column, sa.BigInteger, nullable=False, server_default="0"),
            schema="order",
        )
    op.add_column("trade_order", sa.Column("pickup_code", sa.String(12)), schema="order")
    op.add_column("trade_order", sa.Column("external_id", sa.String(64)), schema="order")
    op.add_column(
        "trade_order",
        sa.Column("status_changed_at", sa.DateTime(timezone=True)),
        schema="order",
    )
    op.execute('UPDATE "order".trade_order SET list_amount = total_amount')
    op.create_index(
        "trade_order_channel_external",
        "trade_order",
        ["tenant_id", "channel", "external_id"],
        unique=True,
        schema="order",
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    op.create_index(
        "trade_order_status", "trade_order", ["tenant_id", "status", "id"], schema="order"
    )

    op.add_column(
        "order_line",
        sa.Column("sub_no", sa.Integer, nullable=False, server_default="1"),
        schema="order",
    )
    for column in ("discount_amount", "payable_amount", "refunded_amount"):
        op.add_column(
            "order_line",
            sa.Column(column, sa.BigInteger, nullable=False, server_default="0"),
            schema="order",
        )
    op.execute('UPDATE "order".order_line SET payable_amount = line_amount')

    op.create_table(
        "sub_order",  # 子订单: one per split key (store, warehouse, merchant)
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("sub_no", sa.Integer, nullable=False),
        sa.Column("split_key", sa.String(80), nullable=False),
        sa.Column("store_id", sa.Uuid, nullable=False),
        sa.Column("list_amount", sa.BigInteger, nullable=False),
        sa.Column("discount_amount", sa.BigInteger, nullable=False),
        sa.Column("delivery_fee", sa.BigInteger, nullable=False),
        sa.Column("payable_amount", sa.BigInteger, nullable=False),
        sa.Column("refunded_amount", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", "sub_no"),
        schema="order",
    )
    op.create_table(
        "order_line_discount",  # 金额分摊: each discount allocated down to each line
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_id", sa.Uuid),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", "line_no", "seq"),
        schema="order",
    )
    op.create_table(
        "order_history",  # every transition: time, actor, from, to, reason
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(24)),
        sa.Column("to_status", sa.String(24), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False, server_default=""),
        sa.Column("idempotency_key", sa.String(128)),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", "seq"),
        schema="order",
    )
    op.create_index(
        "order_history_key",
        "order_history",
        ["tenant_id", "order_id", "idempotency_key"],
        unique=True,
        schema="order",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_table(
        "order_setting",  # per-tenant order rules; absent row = defaults
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("payment_timeout_seconds", sa.Integer, nullable=False, server_default="900"),
        sa.Column("after_sale_days", sa.Integer, nullable=False, server_default="7"),
        sa.Column("delivery_fee", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("free_delivery_from", sa.BigInteger),
        sa.Column("presale_deposit_percent", sa.Integer, nullable=False, server_default="20"),
        sa.PrimaryKeyConstraint("tenant_id"),
        schema="order",
    )


def downgrade() -> None:
    op.drop_table("order_setting", schema="order")
    op.drop_index("order_history_key", table_name="order_history", schema="order")
    op.drop_table("order_history", schema="order")
    op.drop_table("order_line_discount", schema="order")
    op.drop_table("sub_order", schema="order")
    for column in ("sub_no", "discount_amount", "payable_amount", "refunded_amount"):
        op.drop_column("order_line", column, schema="order")
    op.drop_index("trade_order_status", table_name="trade_order", schema="order")
    op.drop_index("trade_order_channel_external", table_name="trade_order", schema="order")
    for column in (
        "order_type",
        "channel",
        *_MONEY_COLUMNS,
        "deposit_amount",
        "pickup_code",
        "external_id",
        "status_changed_at",
    ):
        op.drop_column("trade_order", column, schema="order")
    op.alter_column("trade_order", "status", type_=sa.String(16), schema="order")
    op.create_check_constraint(
        "trade_order_status", "trade_order", "status IN ('PLACED', 'CANCELLED')", schema="order"
    )
