"""Tables of the product center, all in PostgreSQL schema ``product``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlmodel import Field, SQLModel

SCHEMA = "product"


class Category(SQLModel, table=True):
    """A menu or catalog category (分类); a tree through ``parent_id``."""

    __tablename__ = "category"
    __table_args__ = {"schema": SCHEMA}

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    parent_id: uuid.UUID | None = None
    name: str = Field(max_length=100)
    position: int = 0
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class Product(SQLModel, table=True):
    """A product (SPU), e.g. "Beef noodle soup"."""

    __tablename__ = "product"
    __table_args__ = {"schema": SCHEMA}

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    category_id: uuid.UUID | None = None
    # Free attributes shown on the menu, e.g. {"origin": "Sichuan", "halal": "yes"}.
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    images: list[Any] = Field(default_factory=list, sa_type=JSONB)  # URLs, first is main
    # The tenant ERP's code for this product, and the newest ERP version applied.
    external_code: str | None = Field(default=None, max_length=64)
    source_version: int | None = Field(default=None, sa_type=sa.BigInteger)
    # Names, codes, category and attribute values, kept by the service; ``search`` is a
    # generated tsvector over it (see migration product_0002).
    search_text: str = Field(default="", sa_type=sa.Text)
    search: Any = Field(
        default=None,
        sa_column=sa.Column(
            "search",
            TSVECTOR,
            sa.Computed("to_tsvector('simple', search_text)", persisted=True),
        ),
    )


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
    # The spec values that make this variant, e.g. {"size": "L", "spice": "hot"}.
    specs: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)


class ChannelListing(SQLModel, table=True):
    """Whether a product is on sale in a sales channel (上下架 per channel)."""

    __tablename__ = "channel_listing"
    __table_args__ = {"schema": SCHEMA}

    tenant_id: uuid.UUID = Field(primary_key=True)
    product_id: uuid.UUID = Field(primary_key=True)
    channel: str = Field(primary_key=True, max_length=32)
    on_sale: bool
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class SkuPrice(SQLModel, table=True):
    """A SKU's price in one channel and/or store, overriding its list price.

    ``channel = ''`` means every channel and the nil uuid every store; the most
    specific row wins: channel and store, then store, then channel, then list price.
    """

    __tablename__ = "sku_price"
    __table_args__ = (
        sa.CheckConstraint("price_amount >= 0", name="sku_price_not_negative"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    sku_id: uuid.UUID = Field(primary_key=True)
    channel: str = Field(primary_key=True, max_length=32)
    store_id: uuid.UUID = Field(primary_key=True)
    price_amount: int
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
