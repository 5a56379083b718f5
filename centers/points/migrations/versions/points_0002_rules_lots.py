"""points: tenant rules (earn, redeem, expiry), expiring lots and what spending drew

Revision ID: points_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "points_0002"
down_revision = "points_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("earn_points", sa.Integer, nullable=False),
        sa.Column("earn_per_amount", sa.BigInteger, nullable=False),
        sa.Column("redeem_unit_points", sa.Integer, nullable=False),
        sa.Column("redeem_unit_value", sa.BigInteger, nullable=False),
        sa.Column("redeem_max_bp", sa.Integer, nullable=False),
        sa.Column("expiry_days", sa.Integer, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
        sa.CheckConstraint("earn_points >= 0 AND earn_per_amount > 0", name="rule_earn_check"),
        sa.CheckConstraint(
            "redeem_unit_points > 0 AND redeem_unit_value > 0", name="rule_redeem_check"
        ),
        sa.CheckConstraint(
            "redeem_max_bp >= 0 AND redeem_max_bp <= 10000", name="rule_redeem_cap_check"
        ),
        sa.CheckConstraint("expiry_days IS NULL OR expiry_days > 0", name="rule_expiry_check"),
        schema="points",
    )
    op.create_table(
        "lot",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("entry_id", sa.Uuid, nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=False),
        sa.Column("remaining", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "entry_id"),
        sa.CheckConstraint("remaining >= 0", name="lot_remaining_not_negative"),
        schema="points",
    )
    op.create_index(
        "lot_member_expiry", "lot", ["tenant_id", "member_id", "expires_at"], schema="points"
    )
    op.create_table(
        "lot_draw",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("entry_id", sa.Uuid, nullable=False),
        sa.Column("lot_entry_id", sa.Uuid, nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "entry_id", "lot_entry_id"),
        sa.CheckConstraint("points >= 0", name="lot_draw_points_not_negative"),
        schema="points",
    )
    # Balances that exist already become one lot each that never expires.
    op.execute(
        "INSERT INTO points.lot (tenant_id, entry_id, member_id, remaining, expires_at) "
        "SELECT tenant_id, gen_random_uuid(), member_id, balance, NULL FROM points.account "
        "WHERE balance > 0"
    )


def downgrade() -> None:
    op.drop_table("lot_draw", schema="points")
    op.drop_index("lot_member_expiry", table_name="lot", schema="points")
    op.drop_table("lot", schema="points")
    op.drop_table("rule", schema="points")
