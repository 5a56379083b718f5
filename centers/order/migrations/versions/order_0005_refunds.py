"""order: after-sale requests (售后单) with their lines

Revision ID: order_0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.rls import enable_tenant_rls

revision = "order_0005"
down_revision = "order_0004"
branch_labels = None
depends_on = ("kernel_0003",)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "order_refund",  # 售后单: refund only, return and refund, out of stock
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(200), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        schema="order",
    )
    op.create_index(
        "order_refund_order", "order_refund", ["tenant_id", "order_id", "id"], schema="order"
    )
    op.create_index(
        "order_refund_status", "order_refund", ["tenant_id", "status", "id"], schema="order"
    )
    op.create_table(
        "order_refund_line",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("refund_id", sa.Uuid, nullable=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "refund_id", "line_no"),
        schema="order",
    )
    for table in ("order_refund", "order_refund_line"):
        enable_tenant_rls("order", table)


def downgrade() -> None:
    op.drop_table("order_refund_line", schema="order")
    op.drop_index("order_refund_status", table_name="order_refund", schema="order")
    op.drop_index("order_refund_order", table_name="order_refund", schema="order")
    op.drop_table("order_refund", schema="order")
