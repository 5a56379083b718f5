"""promotion: activities imported from the ERP carry its id and source version

Revision ID: promotion_0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "promotion_0005"
down_revision = "promotion_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    # Nullable columns without defaults: adding them rewrites nothing. The activity
    # table is under Row-Level Security since kernel_0003; new columns inherit it.
    op.add_column("activity", sa.Column("external_id", sa.String(64)), schema="promotion")
    op.add_column("activity", sa.Column("source_version", sa.BigInteger), schema="promotion")
    op.create_index(
        "activity_external_id",
        "activity",
        ["tenant_id", "external_id"],
        unique=True,
        schema="promotion",
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("activity_external_id", table_name="activity", schema="promotion")
    op.drop_column("activity", "source_version", schema="promotion")
    op.drop_column("activity", "external_id", schema="promotion")
