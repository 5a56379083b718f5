"""Tables of the stock center, all in PostgreSQL schema ``stock``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

SCHEMA = "stock"


class StockLevel(SQLModel, table=True):
    """Stock of one SKU at one location (a store for now; warehouses come later).

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
