"""payment: the CHANNEL tender (an order a sales channel collected the money for)

Revision ID: payment_0005
"""

from __future__ import annotations

from alembic import op

revision = "payment_0005"
down_revision = "payment_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("payment_tender_check", "payment", schema="payment")
    op.create_check_constraint(
        "payment_tender_check",
        "payment",
        "tender IN ('ONLINE', 'CASH', 'POINTS', 'STORED_VALUE', 'CHANNEL')",
        schema="payment",
    )


def downgrade() -> None:
    op.drop_constraint("payment_tender_check", "payment", schema="payment")
    op.create_check_constraint(
        "payment_tender_check",
        "payment",
        "tender IN ('ONLINE', 'CASH', 'POINTS', 'STORED_VALUE')",
        schema="payment",
    )
