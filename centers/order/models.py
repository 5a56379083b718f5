"""Tables of the order center, all in PostgreSQL schema ``order``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

SCHEMA = "order"


class TradeOrder(SQLModel, table=True):
    """A trade order (交易单): what a buyer placed at one store, with its amounts."""

    __tablename__ = "trade_order"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number", name="trade_order_number_key"),
        sa.Index("trade_order_buyer", "tenant_id", "buyer_subject", "id"),
        sa.Index("trade_order_store", "tenant_id", "store_id", "id"),
        sa.CheckConstraint("status IN ('PLACED', 'CANCELLED')", name="trade_order_status"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    number: str = Field(max_length=32)
    store_id: uuid.UUID
    buyer_subject: str = Field(max_length=200)
    status: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    total_amount: int
    placed_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    cancelled_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    cancel_reason: str | None = Field(default=None, max_length=200)


class OrderLine(SQLModel, table=True):
    """A line (订单详情) with a snapshot of the SKU as sold."""

    __tablename__ = "order_line"
    __table_args__ = {"schema": SCHEMA}

    tenant_id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID = Field(primary_key=True)
    line_no: int = Field(primary_key=True)
    sku_id: uuid.UUID
    sku_code: str = Field(max_length=64)
    sku_name: str = Field(max_length=200)
    unit_price_amount: int
    quantity: int
    line_amount: int
