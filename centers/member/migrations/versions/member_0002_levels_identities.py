"""member: growth and levels with benefits, channel identities, addresses, tags, blacklist

Revision ID: member_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "member_0002"
down_revision = "member_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "member",
        sa.Column("growth", sa.Integer, nullable=False, server_default="0"),
        schema="member",
    )
    op.add_column(
        "member",
        sa.Column("blacklisted", sa.Boolean, nullable=False, server_default="false"),
        schema="member",
    )
    op.add_column(
        "member", sa.Column("blacklist_reason", sa.String(200), nullable=True), schema="member"
    )
    op.create_table(
        "level_rule",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("growth_threshold", sa.Integer, nullable=False),
        sa.Column("discount_bp", sa.Integer, nullable=False, server_default="0"),
        sa.Column("combine", sa.Text, nullable=False, server_default="STACK"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "level", name="level_rule_level_key"),
        sa.CheckConstraint("level >= 1", name="level_rule_level_positive"),
        sa.CheckConstraint("growth_threshold >= 0", name="level_rule_threshold_check"),
        sa.CheckConstraint(
            "discount_bp >= 0 AND discount_bp < 10000", name="level_rule_discount_check"
        ),
        sa.CheckConstraint(
            "combine IN ('STACK', 'UNDISCOUNTED_ONLY')", name="level_rule_combine_check"
        ),
        schema="member",
    )
    op.create_table(
        "level_price",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("level_id", sa.Uuid, nullable=False),
        sa.Column("sku_id", sa.Uuid, nullable=False),
        sa.Column("price", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "level_id", "sku_id"),
        sa.CheckConstraint("price >= 0", name="level_price_not_negative"),
        schema="member",
    )
    op.create_table(
        "identity",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "external_id"),
        sa.CheckConstraint("kind IN ('PHONE', 'APP', 'MINI_PROGRAM')", name="identity_kind_check"),
        schema="member",
    )
    op.create_index("identity_member", "identity", ["tenant_id", "member_id"], schema="member")
    # Every existing member is known by its phone.
    op.execute(
        "INSERT INTO member.identity (tenant_id, kind, external_id, member_id, created_at) "
        "SELECT tenant_id, 'PHONE', phone, id, created_at FROM member.member"
    )
    op.create_table(
        "address",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=False),
        sa.Column("receiver", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("region", sa.String(200), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        schema="member",
    )
    op.create_index("address_member", "address", ["tenant_id", "member_id", "id"], schema="member")
    op.create_table(
        "tag",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "member_id", "tag"),
        schema="member",
    )
    op.create_table(
        "growth_entry",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("source_key", sa.String(160), nullable=False),
        sa.Column("member_id", sa.Uuid, nullable=False),
        sa.Column("delta", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "source_key"),
        schema="member",
    )


def downgrade() -> None:
    op.drop_table("growth_entry", schema="member")
    op.drop_table("tag", schema="member")
    op.drop_index("address_member", table_name="address", schema="member")
    op.drop_table("address", schema="member")
    op.drop_index("identity_member", table_name="identity", schema="member")
    op.drop_table("identity", schema="member")
    op.drop_table("level_price", schema="member")
    op.drop_table("level_rule", schema="member")
    for name in ("blacklist_reason", "blacklisted", "growth"):
        op.drop_column("member", name, schema="member")
