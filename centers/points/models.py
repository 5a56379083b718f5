"""Tables of the points center, all in PostgreSQL schema ``points``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

SCHEMA = "points"


class PointsAccount(SQLModel, table=True):
    """A member's points balance; never negative (a CHECK and a conditional update)."""

    __tablename__ = "account"
    __table_args__ = (
        sa.CheckConstraint("balance >= 0", name="account_balance_not_negative"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    member_id: uuid.UUID = Field(primary_key=True)
    balance: int
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class PointsEntry(SQLModel, table=True):
    """Append-only ledger (积分流水): each change with the balance it left."""

    __tablename__ = "entry"
    __table_args__ = (
        sa.Index("entry_member", "tenant_id", "member_id", "id"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    member_id: uuid.UUID
    delta: int
    balance_after: int
    reason: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
