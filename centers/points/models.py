"""Tables of the points center, all in PostgreSQL schema ``points``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

SCHEMA = "points"


class PointsAccount(SQLModel, table=True):
    """A member's points balance (积分账户). Never negative: the CHECK backs up the
    conditional update every change goes through."""

    __tablename__ = "account"
    __table_args__ = (
        sa.CheckConstraint("balance >= 0", name="account_balance_not_negative"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    # The member center's member id (no foreign key across centers).
    member_id: uuid.UUID = Field(primary_key=True)
    balance: int
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class PointsEntry(SQLModel, table=True):
    """The append-only ledger (积分流水): every change with the balance it left, so the
    entries of a member always sum to the account's balance."""

    __tablename__ = "entry"
    __table_args__ = (
        # One entry per source (an idempotency key, later an order): a second wall
        # behind the idempotency claim against counting one event twice.
        sa.UniqueConstraint("tenant_id", "source_key", name="entry_source_key"),
        sa.Index("entry_member", "tenant_id", "member_id", "id"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    member_id: uuid.UUID
    delta: int
    balance_after: int
    reason: str = Field(sa_type=sa.Text)
    source_key: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class PointsRule(SQLModel, table=True):
    """A tenant's points rules (积分规则): how points are earned, spent and expire."""

    __tablename__ = "rule"
    __table_args__ = (
        sa.CheckConstraint("earn_points >= 0 AND earn_per_amount > 0", name="rule_earn_check"),
        sa.CheckConstraint(
            "redeem_unit_points > 0 AND redeem_unit_value > 0", name="rule_redeem_check"
        ),
        sa.CheckConstraint(
            "redeem_max_bp >= 0 AND redeem_max_bp <= 10000", name="rule_redeem_cap_check"
        ),
        sa.CheckConstraint("expiry_days IS NULL OR expiry_days > 0", name="rule_expiry_check"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    # Earn ``earn_points`` for every ``earn_per_amount`` minor units paid (1 per ¥1: 1, 100).
    earn_points: int
    earn_per_amount: int = Field(sa_type=sa.BigInteger)
    # Redeem in multiples of ``redeem_unit_points``, each worth ``redeem_unit_value``
    # minor units (100 points = ¥1: 100, 100), at most ``redeem_max_bp`` of the payable.
    redeem_unit_points: int
    redeem_unit_value: int = Field(sa_type=sa.BigInteger)
    redeem_max_bp: int
    # Earned points expire this many days after they were earned; None: never.
    expiry_days: int | None = None
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class PointsLot(SQLModel, table=True):
    """Points earned together that expire together; spending draws from the lot that
    expires first (FIFO by expiry), so expiry takes only what is really left."""

    __tablename__ = "lot"
    __table_args__ = (
        sa.CheckConstraint("remaining >= 0", name="lot_remaining_not_negative"),
        sa.Index("lot_member_expiry", "tenant_id", "member_id", "expires_at"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    entry_id: uuid.UUID = Field(primary_key=True)  # the earning entry
    member_id: uuid.UUID
    remaining: int
    expires_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class PointsLotDraw(SQLModel, table=True):
    """How much a spending entry took from each lot and has not given back yet, so that
    giving points back (an order cancelled or refunded) refills exactly those lots."""

    __tablename__ = "lot_draw"
    __table_args__ = (
        sa.CheckConstraint("points >= 0", name="lot_draw_points_not_negative"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    entry_id: uuid.UUID = Field(primary_key=True)  # the spending entry
    lot_entry_id: uuid.UUID = Field(primary_key=True)
    points: int
