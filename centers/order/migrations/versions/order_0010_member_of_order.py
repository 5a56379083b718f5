"""order: the membership an order was placed for, so the member reads it (decision 0113)

Revision ID: order_0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "order_0010"
down_revision = "order_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column("trade_order", sa.Column("member_id", sa.Uuid(), nullable=True), schema="order")
    op.add_column(
        "trade_order", sa.Column("member_subject", sa.String(200), nullable=True), schema="order"
    )
    op.create_index(
        "trade_order_member_subject",
        "trade_order",
        ["tenant_id", "member_subject", "id"],
        schema="order",
        postgresql_where=sa.text("member_subject IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("trade_order_member_subject", table_name="trade_order", schema="order")
    op.drop_column("trade_order", "member_subject", schema="order")
    op.drop_column("trade_order", "member_id", schema="order")
