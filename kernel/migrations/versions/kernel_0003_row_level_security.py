"""kernel: Row-Level Security on every business table; the app and platform roles

Revision ID: kernel_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.rls import APP_ROLE, PLATFORM_ROLE, tenant_rls_statements

revision = "kernel_0003"
down_revision = "kernel_0002"
branch_labels = None
# Every center's first tables must exist before they are walled off.
depends_on = (
    "store_0001",
    "product_0001",
    "stock_0001",
    "order_0001",
    "promotion_0001",
    "member_0001",
    "points_0001",
    "payment_0001",
    "fulfillment_0001",
)

NIL_TENANT = "'00000000-0000-0000-0000-000000000000'::uuid"

# Roles are cluster-wide: several databases (test sessions) may migrate at once.
_CREATE_ROLE = """
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
    BEGIN
      CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  -- A non-superuser migrator must be able to switch to the role it grants.
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND NOT pg_has_role(current_user, '{role}', 'MEMBER') THEN
    EXECUTE format('GRANT {role} TO %I', current_user);
  END IF;
END $$
"""

_OWN_SCHEMAS = """
SELECT nspname FROM pg_namespace
WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
  AND nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
ORDER BY nspname
"""

_TENANT_TABLES = """
SELECT c.table_schema, c.table_name
FROM information_schema.columns c
JOIN information_schema.tables t USING (table_schema, table_name)
WHERE c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'
  AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2
"""


def upgrade() -> None:
    for role in (APP_ROLE, PLATFORM_ROLE):
        op.execute(_CREATE_ROLE.format(role=role))

    bind = op.get_bind()
    for (schema,) in bind.execute(sa.text(_OWN_SCHEMAS)).all():
        op.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {APP_ROLE}')
        op.execute(
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {APP_ROLE}'
        )
        op.execute(
            f'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "{schema}" TO {APP_ROLE}'
        )
    # Tables, sequences and schemas later migrations create get the same privileges.
    op.execute(
        f"ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}"
    )
    op.execute(f"ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {APP_ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO {APP_ROLE}")
    op.execute(f"REVOKE ALL ON kernel.alembic_version FROM {APP_ROLE}")

    for schema, table in bind.execute(sa.text(_TENANT_TABLES)).all():
        for statement in tenant_rls_statements(schema, table):
            op.execute(statement)

    # The platform scope: the tenant directory and the platform's own policy rows,
    # nothing else (no privilege at all on business tables).
    op.execute(f"GRANT USAGE ON SCHEMA store, kernel TO {PLATFORM_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON store.tenant TO {PLATFORM_ROLE}")
    op.execute(
        f"CREATE POLICY platform_directory ON store.tenant TO {PLATFORM_ROLE} "
        "USING (true) WITH CHECK (true)"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON kernel.policy_rule TO {PLATFORM_ROLE}")
    op.execute(
        f"CREATE POLICY platform_rules ON kernel.policy_rule TO {PLATFORM_ROLE} "
        f"USING (tenant_id = {NIL_TENANT}) WITH CHECK (tenant_id = {NIL_TENANT})"
    )
    # Platform role assignments (g2) are evaluated in every tenant's enforcer.
    op.execute(
        "CREATE POLICY platform_rules_visible ON kernel.policy_rule FOR SELECT "
        f"USING (tenant_id = {NIL_TENANT})"
    )


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS platform_rules_visible ON kernel.policy_rule")
    op.execute("DROP POLICY IF EXISTS platform_rules ON kernel.policy_rule")
    op.execute("DROP POLICY IF EXISTS platform_directory ON store.tenant")
    bind = op.get_bind()
    for schema, table in bind.execute(sa.text(_TENANT_TABLES)).all():
        op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "{schema}"."{table}"')
        op.execute(f'ALTER TABLE "{schema}"."{table}" NO FORCE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{schema}"."{table}" DISABLE ROW LEVEL SECURITY')
