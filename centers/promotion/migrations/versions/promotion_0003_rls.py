"""promotion: Row-Level Security on the tables of promotion_0002

Revision ID: promotion_0003
"""

from __future__ import annotations

from alembic import op

from kernel.rls import enable_tenant_rls

revision = "promotion_0003"
down_revision = "promotion_0002"
branch_labels = None
# After the kernel created the roles and walled off the first tables.
depends_on = ("kernel_0003",)

TABLES = ("coupon_template", "coupon", "member_usage", "order_pricing")


def upgrade() -> None:
    for table in TABLES:
        enable_tenant_rls("promotion", table)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "promotion"."{table}"')
        op.execute(f'ALTER TABLE "promotion"."{table}" NO FORCE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "promotion"."{table}" DISABLE ROW LEVEL SECURITY')
