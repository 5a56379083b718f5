"""Tables of the member center, all in PostgreSQL schema ``member``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

SCHEMA = "member"


class Member(SQLModel, table=True):
    """A member (会员): one identity per phone number within a brand, across channels."""

    __tablename__ = "member"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "phone", name="member_phone_key"),
        sa.CheckConstraint("level >= 1", name="member_level_positive"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    # E.164: "+" and at most 15 digits.
    phone: str = Field(max_length=16)
    display_name: str = Field(max_length=100)
    level: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    # 成长值: drives the level (see ``LevelRule``); earned on completed orders.
    growth: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Order review refuses or holds orders of blacklisted members (黑名单).
    blacklisted: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    blacklist_reason: str | None = Field(default=None, max_length=200)


class LevelRule(SQLModel, table=True):
    """A membership level (会员等级): reached by growth value, with its benefits.

    Benefits apply to the account, not to goods: a member discount (basis points off,
    200 = 9.8折) and member prices per SKU. ``combine`` declares how they meet
    promotions: ``STACK`` (on top of them) or ``UNDISCOUNTED_ONLY`` (only on lines no
    promotion discounted).
    """

    __tablename__ = "level_rule"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "level", name="level_rule_level_key"),
        sa.CheckConstraint("level >= 1", name="level_rule_level_positive"),
        sa.CheckConstraint("growth_threshold >= 0", name="level_rule_threshold_check"),
        sa.CheckConstraint(
            "discount_bp >= 0 AND discount_bp < 10000", name="level_rule_discount_check"
        ),
        sa.CheckConstraint(
            "combine IN ('STACK', 'UNDISCOUNTED_ONLY')", name="level_rule_combine_check"
        ),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    level: int
    name: str = Field(max_length=100)
    growth_threshold: int
    discount_bp: int = 0
    combine: str = Field(default="STACK", sa_type=sa.Text)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class LevelPrice(SQLModel, table=True):
    """A member price (会员价) of one SKU for one level."""

    __tablename__ = "level_price"
    __table_args__ = (
        sa.CheckConstraint("price >= 0", name="level_price_not_negative"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    level_id: uuid.UUID = Field(primary_key=True)
    sku_id: uuid.UUID = Field(primary_key=True)
    price: int = Field(sa_type=sa.BigInteger)


class Identity(SQLModel, table=True):
    """One way a channel knows the member (phone, app account, mini-program openid):
    every channel's id leads to the same member (一个会员，多端身份)."""

    __tablename__ = "identity"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('PHONE', 'APP', 'MINI_PROGRAM')", name="identity_kind_check"),
        sa.Index("identity_member", "tenant_id", "member_id"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(primary_key=True, sa_type=sa.Text)
    external_id: str = Field(primary_key=True, max_length=128)
    member_id: uuid.UUID
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class Address(SQLModel, table=True):
    """A delivery address (收货地址) of a member."""

    __tablename__ = "address"
    __table_args__ = (
        sa.Index("address_member", "tenant_id", "member_id", "id"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    member_id: uuid.UUID
    receiver: str = Field(max_length=100)
    phone: str = Field(max_length=16)
    region: str = Field(max_length=200)
    detail: str = Field(max_length=500)
    is_default: bool = False
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class Tag(SQLModel, table=True):
    """A label on a member (会员标签), e.g. "vip" or "prefers-spicy"."""

    __tablename__ = "tag"
    __table_args__ = ({"schema": SCHEMA},)

    tenant_id: uuid.UUID = Field(primary_key=True)
    member_id: uuid.UUID = Field(primary_key=True)
    tag: str = Field(primary_key=True, max_length=64)


class GrowthEntry(SQLModel, table=True):
    """Growth value earned by a member, once per source (e.g. a completed order)."""

    __tablename__ = "growth_entry"
    __table_args__ = ({"schema": SCHEMA},)

    tenant_id: uuid.UUID = Field(primary_key=True)
    source_key: str = Field(primary_key=True, max_length=160)
    member_id: uuid.UUID
    delta: int
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class SyncVersion(SQLModel, table=True):
    """The newest version of a member applied from one source (e.g. the CRM): an older
    or repeated message from that source changes nothing."""

    __tablename__ = "sync_version"
    __table_args__ = (
        sa.CheckConstraint("version >= 0", name="sync_version_not_negative"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    member_id: uuid.UUID = Field(primary_key=True)
    source: str = Field(primary_key=True, max_length=64)
    version: int = Field(sa_type=sa.BigInteger)
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
