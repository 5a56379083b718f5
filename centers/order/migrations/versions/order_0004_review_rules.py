"""order: review (审核) rules in the tenant's order settings

Revision ID: order_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "order_0004"
down_revision = "order_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    # NULL: the rule is off. Orders hitting a rule wait in PENDING_REVIEW for staff.
    op.add_column("order_setting", sa.Column("review_orders_per_hour", sa.Integer), schema="order")
    op.add_column("order_setting", sa.Column("review_discount_percent", sa.Integer), schema="order")


def downgrade() -> None:
    op.drop_column("order_setting", "review_discount_percent", schema="order")
    op.drop_column("order_setting", "review_orders_per_hour", schema="order")
