"""Tables of the fulfillment center, all in PostgreSQL schema ``fulfillment``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

SCHEMA = "fulfillment"


class Shipment(SQLModel, table=True):
    """A shipment (包裹/履约单) of an order from one store: by courier, or picked up."""

    __tablename__ = "shipment"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('PENDING', 'PREPARING', 'READY', 'SHIPPED', 'DELIVERED', 'PICKED_UP', "
            "'CONFIRMED', 'MERGED', 'CANCELLED')",
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
            postgresql_where=sa.text(
                "status NOT IN ('DELIVERED', 'PICKED_UP', 'CONFIRMED', 'MERGED', 'CANCELLED')"
            ),
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
    pickup_point_id: uuid.UUID | None = None  # delivered to a pickup point (自提点)
    # Restaurant delivery by a rider (骑手): ASSIGNED → AT_STORE → PICKED_UP → DELIVERED.
    rider_status: str | None = Field(default=None, max_length=20)
    rider_name: str | None = Field(default=None, max_length=64)
    rider_phone: str | None = Field(default=None, max_length=32)
    updated_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class ShipmentLine(SQLModel, table=True):
    """What a shipment (package) carries; a merged shipment may carry several orders' lines."""

    __tablename__ = "shipment_line"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="shipment_line_positive"),
        sa.Index("shipment_line_order", "tenant_id", "order_id"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    shipment_id: uuid.UUID = Field(primary_key=True)
    line_no: int = Field(primary_key=True)
    order_id: uuid.UUID
    sku_id: uuid.UUID
    quantity: int


class TrackingEvent(SQLModel, table=True):
    """A carrier's tracking event (物流轨迹) of a shipment."""

    __tablename__ = "tracking_event"
    __table_args__ = (
        sa.UniqueConstraint(
            "tenant_id", "shipment_id", "occurred_at", "description", name="tracking_event_once"
        ),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    shipment_id: uuid.UUID
    occurred_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    description: str = Field(max_length=200)
    location: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class Dispatch(SQLModel, table=True):
    """The dispatch decision (派单) of an order: where each line ships from, and why."""

    __tablename__ = "dispatch"
    __table_args__ = {"schema": SCHEMA}

    tenant_id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID = Field(primary_key=True)
    plan: dict[str, Any] = Field(sa_type=JSONB)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class PickupPoint(SQLModel, table=True):
    """A pickup point (自提点) customers can give as their delivery address."""

    __tablename__ = "pickup_point"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code", name="pickup_point_code_key"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    address: str = Field(max_length=500)
    latitude_e6: int | None = None
    longitude_e6: int | None = None
    store_id: uuid.UUID | None = None  # a store that doubles as the pickup point
    active: bool
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
