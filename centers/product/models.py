"""Tables of the product center, all in PostgreSQL schema ``product``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

SCHEMA = "product"


class Product(SQLModel, table=True):
    """A product (SPU), e.g. "Beef noodle soup"."""

    __tablename__ = "product"
    __table_args__ = {"schema": SCHEMA}

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class Sku(SQLModel, table=True):
    """A sellable variant (SKU) of a product, e.g. "Beef noodle soup, large, spicy"."""

    __tablename__ = "sku"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code", name="sku_code_key"),
        sa.Index("sku_product", "tenant_id", "product_id"),
        sa.CheckConstraint("price_amount >= 0", name="sku_price_not_negative"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    product_id: uuid.UUID
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    price_amount: int
    currency: str = Field(max_length=3)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
