"""Tables of the fulfillment center, all in PostgreSQL schema ``fulfillment``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

SCHEMA = "fulfillment"


class Shipment(SQLModel, table=True):
    """A shipment (包裹/履约单) of an order from one store: by courier, or picked up."""

    __tablename__ = "shipment"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('PENDING', 'PREPARING', 'READY', 'SHIPPED', 'DELIVERED', 'PICKED_UP')",
            name="shipment_status_check",
        ),
        sa.Index("shipment_order_idx", "tenant_id", "order_id"),
        # Two customers waiting at one counter must never hold the same 取餐码.
        sa.Index(
            "shipment_open_pickup_code_key",
            "tenant_id",
            "store_id",
            "pickup_code",
            unique=True,
            postgresql_where=sa.text("status NOT IN ('DELIVERED', 'PICKED_UP')"),
        ),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID  # order.order, by id only (no foreign key across centers)
    store_id: uuid.UUID  # store.store, by id only
    status: str = Field(sa_type=sa.Text)
    carrier: str | None = Field(default=None, max_length=32)
    tracking_number: str | None = Field(default=None, max_length=64)
    pickup_code: str | None = Field(default=None, max_length=4)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
