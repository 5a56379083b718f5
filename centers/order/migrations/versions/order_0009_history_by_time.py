"""order: history entries by time, for orderEvents to replay what a client missed

Revision ID: order_0009
"""

from __future__ import annotations

from alembic import op

revision = "order_0009"
down_revision = "order_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_index("order_history_at", "order_history", ["tenant_id", "at"], schema="order")


def downgrade() -> None:
    op.drop_index("order_history_at", table_name="order_history", schema="order")
