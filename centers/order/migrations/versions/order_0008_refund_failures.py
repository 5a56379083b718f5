"""order: what a refused refund left unpaid on each after-sale line

A provider may refuse a refund the order already counted; the order takes the amount
off its lines again and keeps it on the after-sale line until a retry succeeds.

Revision ID: order_0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "order_0008"
down_revision = "order_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column(
        "order_refund_line",
        sa.Column("failed_amount", sa.BigInteger, nullable=False, server_default="0"),
        schema="order",
    )


def downgrade() -> None:
    op.drop_column("order_refund_line", "failed_amount", schema="order")
