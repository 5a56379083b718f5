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
