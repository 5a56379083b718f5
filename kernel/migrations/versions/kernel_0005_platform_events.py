"""kernel: the platform scope may append (never read) outbox events

Creating a tenant emits ``store.tenant_created`` for the new tenant from the platform
scope, which otherwise holds privileges on the tenant directory only.

Revision ID: kernel_0005
"""

from __future__ import annotations

from alembic import op

from kernel.rls import PLATFORM_ROLE

revision = "kernel_0005"
down_revision = "kernel_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(f"GRANT INSERT ON kernel.outbox_event TO {PLATFORM_ROLE}")
    op.execute(
        f"CREATE POLICY platform_events ON kernel.outbox_event FOR INSERT TO {PLATFORM_ROLE} "
        "WITH CHECK (true)"
    )


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS platform_events ON kernel.outbox_event")
    op.execute(f"REVOKE INSERT ON kernel.outbox_event FROM {PLATFORM_ROLE}")
