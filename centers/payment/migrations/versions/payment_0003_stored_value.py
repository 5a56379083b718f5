"""payment: stored value accounts and their ledger (储值); RLS on both

Revision ID: payment_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kernel.rls import enable_tenant_rls

revision = "payment_0003"
down_revision = "payment_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_value_account",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=False),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "member_id"),
        sa.CheckConstraint("balance >= 0", name="stored_value_balance_not_negative"),
        schema="payment",
    )
    op.create_table(
        "stored_value_entry",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=False),
        sa.Column("delta", sa.BigInteger, nullable=False),
        sa.Column("balance_after", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("source_key", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "source_key", name="stored_value_entry_source_key"),
        schema="payment",
    )
    op.create_index(
        "stored_value_entry_member",
        "stored_value_entry",
        ["tenant_id", "member_id", "id"],
        schema="payment",
    )
    for table in ("stored_value_account", "stored_value_entry"):
        enable_tenant_rls("payment", table)


def downgrade() -> None:
    op.drop_index("stored_value_entry_member", table_name="stored_value_entry", schema="payment")
    op.drop_table("stored_value_entry", schema="payment")
    op.drop_table("stored_value_account", schema="payment")
