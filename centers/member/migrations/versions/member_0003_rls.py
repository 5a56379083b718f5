"""member: Row-Level Security on the tables of member_0002

Revision ID: member_0003
"""

from __future__ import annotations

from alembic import op

from kernel.rls import enable_tenant_rls

revision = "member_0003"
down_revision = "member_0002"
branch_labels = None
# After the kernel created the roles and walled off the first tables.
depends_on = ("kernel_0003",)

TABLES = ("level_rule", "level_price", "identity", "address", "tag", "growth_entry")


def upgrade() -> None:
    for table in TABLES:
        enable_tenant_rls("member", table)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "member"."{table}"')
        op.execute(f'ALTER TABLE "member"."{table}" NO FORCE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "member"."{table}" DISABLE ROW LEVEL SECURITY')
