"""order: how long a presale's balance may be paid once it opens

Revision ID: order_0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "order_0006"
down_revision = "order_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    # A presale order whose balance is not paid within this many hours of the balance
    # opening is cancelled by the durable job ``order.balance_timeout`` (deposit kept).
    op.add_column(
        "order_setting",
        sa.Column("presale_balance_hours", sa.Integer, nullable=False, server_default="72"),
        schema="order",
    )


def downgrade() -> None:
    op.drop_column("order_setting", "presale_balance_hours", schema="order")
