"""promotion: activities

Revision ID: promotion_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "promotion_0001"
down_revision = None
branch_labels = ("promotion",)
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS promotion")
    op.create_table(
        "activity",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.CheckConstraint(
            "kind IN ('SPEND_AND_SAVE', 'PERCENT_OFF', 'FIXED_PRICE', 'BUY_X_GET_Y', "
            "'BUNDLE', 'FLASH_SALE', 'GROUP_BUY', 'PRESALE_DEPOSIT')",
            name="activity_kind_check",
        ),
        sa.CheckConstraint("status IN ('DRAFT', 'ACTIVE', 'ENDED')", name="activity_status_check"),
        sa.CheckConstraint("ends_at > starts_at", name="activity_window_check"),
        schema="promotion",
    )


def downgrade() -> None:
    op.drop_table("activity", schema="promotion")
    op.execute("DROP SCHEMA IF EXISTS promotion")
