"""Row-Level Security: the second wall between tenants, behind Casbin.

Every business table (every table with a ``tenant_id`` column) gets ``ENABLE`` and
``FORCE ROW LEVEL SECURITY`` and one policy: a row is visible and writable only when its
``tenant_id`` equals the transaction's ``zhongtai.tenant_id`` setting. The setting is
transaction-local (``kernel.db.bind_tenant``); when it is unset no row matches, so a
forgotten binding fails closed instead of leaking.

Request, job and policy-loading transactions run as the role ``zhongtai_app``
(neither superuser nor owner, ``NOBYPASSRLS``), switched to per transaction, so the
application's queries cannot bypass the policies. Platform operations (the tenant
directory) run as ``zhongtai_platform``, which holds privileges on the directory only.

A center's migration that creates a table calls :func:`enable_tenant_rls` right after
``op.create_table``::

    from kernel.rls import enable_tenant_rls
    ...
    enable_tenant_rls("order", "refund")

``tests/kernel/test_row_level_security.py`` fails for any table with a ``tenant_id``
column that lacks forced RLS and this policy.
"""

from __future__ import annotations

import re

APP_ROLE = "zhongtai_app"
PLATFORM_ROLE = "zhongtai_platform"
TENANT_SETTING = "zhongtai.tenant_id"
POLICY_NAME = "tenant_isolation"

# Unset (or reset to '') means "no tenant": NULL never equals a tenant id.
CURRENT_TENANT = "NULLIF(current_setting('zhongtai.tenant_id', true), '')::uuid"
TENANT_PREDICATE = f"tenant_id = {CURRENT_TENANT}"

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _quoted(schema: str, table: str) -> str:
    for name in (schema, table):
        if not _NAME.match(name):
            raise ValueError(f"unexpected identifier {name!r}")
    return f'"{schema}"."{table}"'


def tenant_rls_statements(schema: str, table: str) -> list[str]:
    """The SQL that puts ``schema.table`` behind the tenant wall (idempotent)."""
    qualified = _quoted(schema, table)
    return [
        f"ALTER TABLE {qualified} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {qualified} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {qualified}",
        f"CREATE POLICY {POLICY_NAME} ON {qualified} "
        f"USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})",
    ]


def enable_tenant_rls(schema: str, table: str) -> None:
    """Call from an Alembic migration after creating a table with ``tenant_id``."""
    from alembic import op  # only inside migrations

    for statement in tenant_rls_statements(schema, table):
        op.execute(statement)
