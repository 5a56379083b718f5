"""order: Row-Level Security on the lifecycle tables of order_0002

Revision ID: order_0003
"""

from __future__ import annotations

from kernel.rls import enable_tenant_rls

revision = "order_0003"
down_revision = "order_0002"
branch_labels = None
# The app role and the policy conventions come from the kernel's RLS revision.
depends_on = ("kernel_0003",)

TABLES = ("sub_order", "order_line_discount", "order_history", "order_setting")


def upgrade() -> None:
    for table in TABLES:
        enable_tenant_rls("order", table)


def downgrade() -> None:
    from alembic import op

    for table in TABLES:
        op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "order"."{table}"')
        op.execute(f'ALTER TABLE "order"."{table}" NO FORCE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "order"."{table}" DISABLE ROW LEVEL SECURITY')
