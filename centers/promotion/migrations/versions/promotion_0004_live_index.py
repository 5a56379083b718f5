"""promotion: an index for the live activities every quote reads

Revision ID: promotion_0004
"""

from __future__ import annotations

from alembic import op

revision = "promotion_0004"
down_revision = "promotion_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every quote reads the tenant's ACTIVE activities whose window has not ended; ended
    # and draft activities pile up over the years and must not be scanned.
    op.create_index(
        "activity_live",
        "activity",
        ["tenant_id", "status", "ends_at"],
        schema="promotion",
    )


def downgrade() -> None:
    op.drop_index("activity_live", table_name="activity", schema="promotion")
