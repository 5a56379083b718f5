"""points: Row-Level Security on the tables of points_0002

Revision ID: points_0003
"""

from __future__ import annotations

from alembic import op

from kernel.rls import enable_tenant_rls

revision = "points_0003"
down_revision = "points_0002"
branch_labels = None
# After the kernel created the roles and walled off the first tables.
depends_on = ("kernel_0003",)

TABLES = ("rule", "lot", "lot_draw")


def upgrade() -> None:
    for table in TABLES:
        enable_tenant_rls("points", table)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "points"."{table}"')
        op.execute(f'ALTER TABLE "points"."{table}" NO FORCE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "points"."{table}" DISABLE ROW LEVEL SECURITY')
