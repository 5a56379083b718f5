"""member: the last source version applied per member and source (CRM sync), with RLS

Revision ID: member_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.rls import enable_tenant_rls

revision = "member_0004"
down_revision = "member_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_version",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "member_id", "source"),
        sa.CheckConstraint("version >= 0", name="sync_version_not_negative"),
        schema="member",
    )
    enable_tenant_rls("member", "sync_version")


def downgrade() -> None:
    op.drop_table("sync_version", schema="member")
