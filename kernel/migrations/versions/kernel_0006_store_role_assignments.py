"""kernel: roles held at a store, and API keys scoped to one

A ``g`` row of ``kernel.policy_rule`` with a ``store_id`` holds the role at that store
only (``kernel.authz.stores``); an API key may name the store its service account's
role is held at (a POS terminal's key works for its own store).

Revision ID: kernel_0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "kernel_0006"
down_revision = "kernel_0005"
branch_labels = None
depends_on = None

_NO_STORE = "'00000000-0000-0000-0000-000000000000'::uuid"


def upgrade() -> None:
    op.add_column("policy_rule", sa.Column("store_id", sa.Uuid, nullable=True), schema="kernel")
    op.create_check_constraint(
        "policy_rule_store_only_on_g",
        "policy_rule",
        "store_id IS NULL OR ptype = 'g'",
        schema="kernel",
    )
    op.drop_index("policy_rule_unique", table_name="policy_rule", schema="kernel")
    op.execute(
        "CREATE UNIQUE INDEX policy_rule_unique ON kernel.policy_rule "
        f"(tenant_id, ptype, subject, object, action, effect, COALESCE(store_id, {_NO_STORE}))"
    )
    op.add_column("api_key", sa.Column("store_id", sa.Uuid, nullable=True), schema="kernel")


def downgrade() -> None:
    op.drop_column("api_key", "store_id", schema="kernel")
    op.execute("DELETE FROM kernel.policy_rule WHERE store_id IS NOT NULL")
    op.execute("DROP INDEX kernel.policy_rule_unique")
    op.create_index(
        "policy_rule_unique",
        "policy_rule",
        ["tenant_id", "ptype", "subject", "object", "action", "effect"],
        unique=True,
        schema="kernel",
    )
    op.drop_constraint("policy_rule_store_only_on_g", "policy_rule", schema="kernel")
    op.drop_column("policy_rule", "store_id", schema="kernel")
