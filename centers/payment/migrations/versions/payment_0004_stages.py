"""payment: an order's payment in stages (presale deposit, then balance)

Revision ID: payment_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "payment_0004"
down_revision = "payment_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A presale payment is paid in two stages: ``deposit_amount`` first, then the rest
    # from ``balance_from`` on. NULL: one stage (the whole amount at once).
    op.add_column(
        "order_payment", sa.Column("deposit_amount", sa.BigInteger, nullable=True), schema="payment"
    )
    op.add_column(
        "order_payment",
        sa.Column("balance_from", sa.DateTime(timezone=True), nullable=True),
        schema="payment",
    )
    op.create_check_constraint(
        "order_payment_deposit_check",
        "order_payment",
        "deposit_amount IS NULL OR (deposit_amount > 0 AND deposit_amount < amount)",
        schema="payment",
    )


def downgrade() -> None:
    op.drop_constraint("order_payment_deposit_check", "order_payment", schema="payment")
    op.drop_column("order_payment", "balance_from", schema="payment")
    op.drop_column("order_payment", "deposit_amount", schema="payment")
