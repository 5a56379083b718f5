"""kernel: tenant roles, API keys, the audit log and per-tenant policy versions

Revision ID: kernel_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.rls import PLATFORM_ROLE, enable_tenant_rls

revision = "kernel_0004"
down_revision = "kernel_0003"
branch_labels = None
depends_on = None

NIL_TENANT = "'00000000-0000-0000-0000-000000000000'::uuid"


def upgrade() -> None:
    op.create_table(
        "access_role",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("description", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "name"),
        schema="kernel",
    )
    enable_tenant_rls("kernel", "access_role")

    op.create_table(
        "api_key",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("service_account", sa.String(63), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(63), nullable=False),
        # HMAC-SHA256 of the whole key with the server secret; the key itself is never stored.
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        schema="kernel",
    )
    op.create_index(
        "api_key_service_account", "api_key", ["tenant_id", "service_account"], schema="kernel"
    )
    enable_tenant_rls("kernel", "api_key")

    op.create_table(
        "audit_log",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("object", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("result", sa.String(10), nullable=False),
        sa.Column("matched_rule", sa.String(500), nullable=False),
        sa.Column("policy_version", sa.BigInteger, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.CheckConstraint("result IN ('denied', 'changed')", name="audit_log_result"),
        schema="kernel",
    )
    op.create_index("audit_log_at", "audit_log", ["tenant_id", "at"], schema="kernel")
    enable_tenant_rls("kernel", "audit_log")
    # Platform operations (a tenant created) are audited into that tenant's log.
    op.execute(f"GRANT SELECT, INSERT ON kernel.audit_log TO {PLATFORM_ROLE}")
    op.execute(
        f"CREATE POLICY platform_audit ON kernel.audit_log FOR INSERT TO {PLATFORM_ROLE} "
        "WITH CHECK (true)"
    )
    op.execute(
        f"CREATE POLICY platform_audit_read ON kernel.audit_log FOR SELECT TO {PLATFORM_ROLE} "
        f"USING (tenant_id = {NIL_TENANT})"
    )

    op.create_table(
        "policy_version",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
        schema="kernel",
    )
    enable_tenant_rls("kernel", "policy_version")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON kernel.policy_version TO {PLATFORM_ROLE}")
    op.execute(
        f"CREATE POLICY platform_version ON kernel.policy_version TO {PLATFORM_ROLE} "
        f"USING (tenant_id = {NIL_TENANT}) WITH CHECK (tenant_id = {NIL_TENANT})"
    )
    # Every rule change bumps its tenant's version in the writing transaction, then
    # tells every server process (NOTIFY is delivered at commit).
    op.execute(
        """
        CREATE OR REPLACE FUNCTION kernel.notify_policy_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
          changed uuid := COALESCE(NEW.tenant_id, OLD.tenant_id);
        BEGIN
          INSERT INTO kernel.policy_version AS v (tenant_id, version) VALUES (changed, 1)
          ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
          PERFORM pg_notify('zhongtai_policy', changed::text);
          RETURN NULL;
        END $$
        """
    )


def downgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION kernel.notify_policy_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('zhongtai_policy', COALESCE(NEW.tenant_id, OLD.tenant_id)::text);
          RETURN NULL;
        END $$
        """
    )
    op.drop_table("policy_version", schema="kernel")
    op.drop_table("audit_log", schema="kernel")
    op.drop_table("api_key", schema="kernel")
    op.drop_table("access_role", schema="kernel")
