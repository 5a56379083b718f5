"""Frozen values the fulfillment center hands to other centers (re-exported by ``api``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kernel.money import Money


class ShipmentStatus(StrEnum):
    PENDING = "PENDING"  # accepted, not started
    PREPARING = "PREPARING"  # being picked / cooked
    READY = "READY"  # packed, or ready at the counter
    SHIPPED = "SHIPPED"  # handed to the courier
    DELIVERED = "DELIVERED"
    PICKED_UP = "PICKED_UP"  # collected by the customer (自提)


@dataclass(frozen=True, slots=True)
class ShipmentInfo:
    id: uuid.UUID
    tenant_id: uuid.UUID
    order_id: uuid.UUID
    store_id: uuid.UUID
    status: ShipmentStatus
    carrier: str | None
    tracking_number: str | None
    pickup_code: str | None  # 取餐码, for shipments without a carrier
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CourierBookingRequest:
    """What a carrier or rider platform needs to send someone to the store."""

    shipment_id: uuid.UUID  # our id; carriers echo it back as the merchant order id
    store_id: uuid.UUID
    receiver_name: str
    receiver_phone: str
    receiver_address: str
    ready_at: datetime | None  # when the parcel can be collected; None: now


@dataclass(frozen=True, slots=True)
class CourierBooking:
    carrier: str
    tracking_number: str
    fee: Money | None  # what the carrier charges the brand, when it says
    estimated_pickup_at: datetime | None


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    occurred_at: datetime
    description: str  # the carrier's own words, e.g. "已揽收"
    location: str | None
