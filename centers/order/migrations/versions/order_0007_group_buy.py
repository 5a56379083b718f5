"""order: group buys (拼团): groups and the orders that joined them; RLS on both

Revision ID: order_0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.rls import enable_tenant_rls

revision = "order_0007"
down_revision = "order_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "buy_group",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("activity_id", sa.Uuid, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("paid", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.CheckConstraint("size BETWEEN 2 AND 100", name="buy_group_size_check"),
        sa.CheckConstraint("paid >= 0 AND paid <= size", name="buy_group_paid_check"),
        sa.CheckConstraint(
            "status IN ('OPEN', 'COMPLETED', 'FAILED')", name="buy_group_status_check"
        ),
        schema="order",
    )
    op.create_table(
        "buy_group_member",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("group_id", sa.Uuid, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("paid", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "group_id", "order_id"),
        schema="order",
    )
    op.create_index(
        "buy_group_member_order",
        "buy_group_member",
        ["tenant_id", "order_id"],
        unique=True,
        schema="order",
    )
    for table in ("buy_group", "buy_group_member"):
        enable_tenant_rls("order", table)


def downgrade() -> None:
    op.drop_index("buy_group_member_order", table_name="buy_group_member", schema="order")
    op.drop_table("buy_group_member", schema="order")
    op.drop_table("buy_group", schema="order")
