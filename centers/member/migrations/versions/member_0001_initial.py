"""member: members

Revision ID: member_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "member_0001"
down_revision = None
branch_labels = ("member",)
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS member")
    op.create_table(
        "member",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("level", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "phone", name="member_phone_key"),
        sa.CheckConstraint("level >= 1", name="member_level_positive"),
        schema="member",
    )


def downgrade() -> None:
    op.drop_table("member", schema="member")
    op.execute("DROP SCHEMA IF EXISTS member")
