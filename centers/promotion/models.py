"""Tables of the promotion center, all in PostgreSQL schema ``promotion``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

SCHEMA = "promotion"


class Activity(SQLModel, table=True):
    """A promotion activity (促销活动) on goods; member benefits live in the member center."""

    __tablename__ = "activity"
    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('SPEND_AND_SAVE', 'PERCENT_OFF', 'FIXED_PRICE', 'BUY_X_GET_Y', "
            "'BUNDLE', 'FLASH_SALE', 'GROUP_BUY', 'PRESALE_DEPOSIT')",
            name="activity_kind_check",
        ),
        sa.CheckConstraint("status IN ('DRAFT', 'ACTIVE', 'ENDED')", name="activity_status_check"),
        sa.CheckConstraint("ends_at > starts_at", name="activity_window_check"),
        sa.CheckConstraint("budget IS NULL OR budget_used <= budget", name="activity_budget_check"),
        sa.Index(
            "activity_external_id",
            "tenant_id",
            "external_id",
            unique=True,
            postgresql_where=sa.text("external_id IS NOT NULL"),
        ),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    name: str = Field(max_length=200)
    kind: str = Field(sa_type=sa.Text)
    status: str = Field(sa_type=sa.Text)
    starts_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    ends_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    # Kind-specific parameters (tiers, discount, price, buy/get, bundle), see the engine.
    rule: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    # Store, channel, member level, sku, product and category lists; empty = any.
    scope: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    priority: int = 0
    exclusive: bool = False
    stack_group: str | None = Field(default=None, max_length=64)
    # Total discount the activity may give (minor units), consumed when orders commit.
    budget: int | None = Field(default=None, sa_type=sa.BigInteger)
    budget_used: int = Field(default=0, sa_type=sa.BigInteger)
    per_member_limit: int | None = None
    # Imported from the tenant's ERP or POS (促销同步): its id there, and the version of
    # the last change applied (an older or equal one is ignored).
    external_id: str | None = Field(default=None, max_length=64)
    source_version: int | None = Field(default=None, sa_type=sa.BigInteger)


class CouponTemplate(SQLModel, table=True):
    """A coupon (优惠券) definition: what it gives, where, when, and how many exist.

    Coupons reach members two ways: claimed or issued one by one (a ``coupon`` row each,
    with its own code), or a shared code anyone may type (``shared_code``).
    ``total_quantity`` caps issued coupons, or redemptions of the shared code.
    """

    __tablename__ = "coupon_template"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('AMOUNT_OFF', 'PERCENT_OFF')", name="coupon_kind_check"),
        sa.CheckConstraint("ends_at > starts_at", name="coupon_window_check"),
        sa.CheckConstraint(
            "total_quantity IS NULL OR (issued <= total_quantity AND redeemed <= total_quantity)",
            name="coupon_quantity_check",
        ),
        sa.Index(
            "coupon_template_shared_code",
            "tenant_id",
            "shared_code",
            unique=True,
            postgresql_where=sa.text("shared_code IS NOT NULL"),
        ),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    name: str = Field(max_length=200)
    kind: str = Field(sa_type=sa.Text)
    amount_off: int = Field(default=0, sa_type=sa.BigInteger)
    discount_bp: int = 0
    max_discount: int | None = Field(default=None, sa_type=sa.BigInteger)
    min_spend: int = Field(default=0, sa_type=sa.BigInteger)
    scope: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    stacks_with_promotions: bool = True
    starts_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    ends_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    shared_code: str | None = Field(default=None, max_length=64)
    total_quantity: int | None = None
    issued: int = 0
    redeemed: int = 0
    per_member_limit: int | None = None
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class Coupon(SQLModel, table=True):
    """One issued coupon (券), owned by a member, used by at most one order."""

    __tablename__ = "coupon"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code", name="coupon_code_key"),
        sa.CheckConstraint("status IN ('AVAILABLE', 'USED')", name="coupon_status_check"),
        sa.Index("coupon_member", "tenant_id", "member_id", "id"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    template_id: uuid.UUID
    code: str = Field(max_length=64)
    member_id: uuid.UUID
    status: str = Field(sa_type=sa.Text)
    order_id: uuid.UUID | None = None
    issued_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class MemberUsage(SQLModel, table=True):
    """How many times a member used an activity or a coupon template (per-member limits)."""

    __tablename__ = "member_usage"
    __table_args__ = (
        sa.CheckConstraint("used >= 0", name="member_usage_not_negative"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    subject_id: uuid.UUID = Field(primary_key=True)  # an activity or a coupon template
    member_id: uuid.UUID = Field(primary_key=True)
    used: int


class OrderPricing(SQLModel, table=True):
    """The quote committed for an order and what committing it consumed, so that a
    retried commit answers the same and a release gives back exactly that."""

    __tablename__ = "order_pricing"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('COMMITTED', 'RELEASED')", name="order_pricing_status_check"
        ),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID = Field(primary_key=True)
    request_hash: str = Field(max_length=64)
    quote: dict[str, Any] = Field(sa_type=JSONB)
    consumed: dict[str, Any] = Field(sa_type=JSONB)
    status: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    released_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
