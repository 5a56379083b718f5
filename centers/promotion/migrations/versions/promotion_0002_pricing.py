"""promotion: activity rules, coupons, per-member usage, committed order pricing

Revision ID: promotion_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "promotion_0002"
down_revision = "promotion_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for column in (
        sa.Column("rule", JSONB, nullable=False, server_default="{}"),
        sa.Column("scope", JSONB, nullable=False, server_default="{}"),
        sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
        sa.Column("exclusive", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("stack_group", sa.String(64), nullable=True),
        sa.Column("budget", sa.BigInteger, nullable=True),
        sa.Column("budget_used", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("per_member_limit", sa.Integer, nullable=True),
    ):
        op.add_column("activity", column, schema="promotion")
    op.create_check_constraint(
        "activity_budget_check",
        "activity",
        "budget IS NULL OR budget_used <= budget",
        schema="promotion",
    )
    op.create_table(
        "coupon_template",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount_off", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("discount_bp", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_discount", sa.BigInteger, nullable=True),
        sa.Column("min_spend", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("scope", JSONB, nullable=False, server_default="{}"),
        sa.Column("stacks_with_promotions", sa.Boolean, nullable=False, server_default="true"),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shared_code", sa.String(64), nullable=True),
        sa.Column("total_quantity", sa.Integer, nullable=True),
        sa.Column("issued", sa.Integer, nullable=False, server_default="0"),
        sa.Column("redeemed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("per_member_limit", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.CheckConstraint("kind IN ('AMOUNT_OFF', 'PERCENT_OFF')", name="coupon_kind_check"),
        sa.CheckConstraint("ends_at > starts_at", name="coupon_window_check"),
        sa.CheckConstraint(
            "total_quantity IS NULL OR (issued <= total_quantity AND redeemed <= total_quantity)",
            name="coupon_quantity_check",
        ),
        schema="promotion",
    )
    op.create_index(
        "coupon_template_shared_code",
        "coupon_template",
        ["tenant_id", "shared_code"],
        unique=True,
        schema="promotion",
        postgresql_where=sa.text("shared_code IS NOT NULL"),
    )
    op.create_table(
        "coupon",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("template_id", sa.Uuid, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "code", name="coupon_code_key"),
        sa.CheckConstraint("status IN ('AVAILABLE', 'USED')", name="coupon_status_check"),
        schema="promotion",
    )
    op.create_index("coupon_member", "coupon", ["tenant_id", "member_id", "id"], schema="promotion")
    op.create_table(
        "member_usage",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("subject_id", sa.Uuid, nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=False),
        sa.Column("used", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "subject_id", "member_id"),
        sa.CheckConstraint("used >= 0", name="member_usage_not_negative"),
        schema="promotion",
    )
    op.create_table(
        "order_pricing",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("quote", JSONB, nullable=False),
        sa.Column("consumed", JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "order_id"),
        sa.CheckConstraint(
            "status IN ('COMMITTED', 'RELEASED')", name="order_pricing_status_check"
        ),
        schema="promotion",
    )


def downgrade() -> None:
    op.drop_table("order_pricing", schema="promotion")
    op.drop_table("member_usage", schema="promotion")
    op.drop_index("coupon_member", table_name="coupon", schema="promotion")
    op.drop_table("coupon", schema="promotion")
    op.drop_index("coupon_template_shared_code", table_name="coupon_template", schema="promotion")
    op.drop_table("coupon_template", schema="promotion")
    op.drop_constraint("activity_budget_check", "activity", schema="promotion")
    for name in (
        "per_member_limit",
        "budget_used",
        "budget",
        "stack_group",
        "exclusive",
        "priority",
        "scope",
        "rule",
    ):
        op.drop_column("activity", name, schema="promotion")
