"""Tables of the store center, all in PostgreSQL schema ``store``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

SCHEMA = "store"


class Tenant(SQLModel, table=True):
    """A brand (商户/品牌) on the platform. Its id is the tenant id everywhere."""

    __tablename__ = "tenant"
    __table_args__ = (sa.UniqueConstraint("slug", name="tenant_slug_key"), {"schema": SCHEMA})

    tenant_id: uuid.UUID = Field(primary_key=True)
    slug: str = Field(max_length=63)
    name: str = Field(max_length=200)
    currency: str = Field(max_length=3)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class Store(SQLModel, table=True):
    """A store (门店) of a tenant."""

    __tablename__ = "store"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code", name="store_code_key"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
