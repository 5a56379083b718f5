"""points: accounts and the ledger

Revision ID: points_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "points_0001"
down_revision = None
branch_labels = ("points",)
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS points")
    op.create_table(
        "account",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=False),
        sa.Column("balance", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "member_id"),
        sa.CheckConstraint("balance >= 0", name="account_balance_not_negative"),
        schema="points",
    )
    op.create_table(
        "entry",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=False),
        sa.Column("delta", sa.Integer, nullable=False),
        sa.Column("balance_after", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("source_key", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "source_key", name="entry_source_key"),
        schema="points",
    )
    op.create_index("entry_member", "entry", ["tenant_id", "member_id", "id"], schema="points")


def downgrade() -> None:
    op.drop_table("entry", schema="points")
    op.drop_table("account", schema="points")
    op.execute("DROP SCHEMA IF EXISTS points")
