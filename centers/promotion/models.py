"""Tables of the promotion center, all in PostgreSQL schema ``promotion``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
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
