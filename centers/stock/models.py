"""Tables of the stock center, all in PostgreSQL schema ``stock``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

SCHEMA = "stock"


class StockLevel(SQLModel, table=True):
    """Stock of one SKU at one location: a store, or a warehouse (``stock.location``).

    ``store_id`` holds the location id (a store's id, or a warehouse's); the column keeps
    its first name because other code reads it (see docs/decisions/0030).
    ``available = on_hand - reserved`` is never negative: a CHECK holds it, and every
    reservation is a conditional update under row locks taken in SKU order.
    """

    __tablename__ = "level"
    __table_args__ = (
        sa.CheckConstraint("reserved >= 0 AND on_hand >= reserved", name="level_never_oversold"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    store_id: uuid.UUID = Field(primary_key=True)
    sku_id: uuid.UUID = Field(primary_key=True)
    on_hand: int
    reserved: int
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    # ``stock.low`` fires when available falls to or below this (None: no alert).
    low_threshold: int | None = None
    # Newest ERP count applied (库存同步): an older message never overwrites a newer one.
    source_version: int | None = Field(default=None, sa_type=sa.BigInteger)
    source: str | None = Field(default=None, max_length=64)


class Reservation(SQLModel, table=True):
    """Units held for an order until it is fulfilled or cancelled (锁定库存)."""

    __tablename__ = "reservation"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="reservation_positive"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID = Field(primary_key=True)
    sku_id: uuid.UUID = Field(primary_key=True)
    store_id: uuid.UUID
    quantity: int
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    # HELD: counted in level.reserved; PENDING: deduct-at-payment, not held; EXPIRED: was
    # held, released by the TTL job; DEDUCTED: taken off on hand at payment.
    status: str = Field(default="HELD", max_length=12)
    expires_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    # The flash-sale bucket the units came from (None: the level itself).
    bucket: int | None = Field(default=None, sa_type=sa.SmallInteger)


class Movement(SQLModel, table=True):
    """Append-only ledger: every change to a level, with its reason and source id."""

    __tablename__ = "movement"
    __table_args__ = (
        sa.Index("movement_level", "tenant_id", "store_id", "sku_id", "created_at"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    store_id: uuid.UUID
    sku_id: uuid.UUID
    on_hand_delta: int
    reserved_delta: int
    reason: str = Field(max_length=64)
    source_id: str = Field(max_length=128)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class Location(SQLModel, table=True):
    """A place that holds stock and can fulfil orders: a store or a warehouse (仓库).

    A store's location has the store's id; a warehouse's id is its own. Priority and
    coordinates drive dispatch (lower priority number first, then distance).
    """

    __tablename__ = "location"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code", name="location_code_key"),
        sa.CheckConstraint("kind IN ('STORE', 'WAREHOUSE')", name="location_kind_check"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=12)
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    priority: int
    # Micro-degrees (WGS84 x 1e6): exact integers, enough for ~0.1 m.
    latitude_e6: int | None = None
    longitude_e6: int | None = None
    active: bool
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class Setting(SQLModel, table=True):
    """A tenant's stock settings: deduction strategy and reservation time-to-live."""

    __tablename__ = "setting"
    __table_args__ = {"schema": SCHEMA}

    tenant_id: uuid.UUID = Field(primary_key=True)
    deduction_strategy: str = Field(max_length=12)
    reservation_ttl_seconds: int


class ProductStrategy(SQLModel, table=True):
    """A product whose deduction strategy differs from its tenant's."""

    __tablename__ = "product_strategy"
    __table_args__ = {"schema": SCHEMA}

    tenant_id: uuid.UUID = Field(primary_key=True)
    product_id: uuid.UUID = Field(primary_key=True)
    deduction_strategy: str = Field(max_length=12)


class FlashBucket(SQLModel, table=True):
    """One shard of a flash sale's units for a hot SKU (秒杀库存分桶).

    The sale's units are reserved on the level when it opens and spread over buckets;
    buyers take from a random free bucket, so they contend on N rows, not one.
    """

    __tablename__ = "flash_bucket"
    __table_args__ = (
        sa.CheckConstraint("remaining >= 0", name="flash_bucket_never_negative"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    store_id: uuid.UUID = Field(primary_key=True)
    sku_id: uuid.UUID = Field(primary_key=True)
    bucket: int = Field(primary_key=True, sa_type=sa.SmallInteger)
    remaining: int
