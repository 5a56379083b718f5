"""kernel: durable scheduled jobs

Revision ID: kernel_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "kernel_0002"
down_revision = "kernel_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_job",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "kind", "key", name="scheduled_job_kind_key"),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'failed', 'cancelled')", name="scheduled_job_status"
        ),
        schema="kernel",
    )
    # The runner's claim scans pending jobs by due time across tenants.
    op.create_index(
        "scheduled_job_due",
        "scheduled_job",
        ["due_at"],
        schema="kernel",
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("scheduled_job", schema="kernel")
