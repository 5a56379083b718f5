"""store: Row-Level Security on the plugin, webhook and delivery tables

Revision ID: store_0003
"""

from __future__ import annotations

from alembic import op

from kernel.rls import APP_ROLE, enable_tenant_rls

revision = "store_0003"
down_revision = "store_0002"
branch_labels = None
# The roles and the default privileges come from the kernel's RLS revision.
depends_on = ("kernel_0003",)

TABLES = ("plugin_installation", "webhook_endpoint", "delivery", "subscriber_health")


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for table in TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON store.{table} TO {APP_ROLE}")
        enable_tenant_rls("store", table)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON store.{table}")
        op.execute(f"ALTER TABLE store.{table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE store.{table} DISABLE ROW LEVEL SECURITY")
