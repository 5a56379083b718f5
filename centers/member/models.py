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
