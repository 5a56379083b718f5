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
    CONFIRMED = "CONFIRMED"  # the buyer confirmed receipt (确认收货)
    MERGED = "MERGED"  # its lines went into another shipment (合单)
    CANCELLED = "CANCELLED"


class RiderStatus(StrEnum):
    """A rider's progress on a restaurant delivery (骑手配送)."""

    ASSIGNED = "ASSIGNED"  # a rider accepted the job
    AT_STORE = "AT_STORE"  # arrived at the store
    PICKED_UP = "PICKED_UP"  # has the food: the shipment is SHIPPED
    DELIVERED = "DELIVERED"  # handed over: the shipment is DELIVERED
    CANCELLED = "CANCELLED"  # the rider dropped the job; another may be assigned


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
    pickup_point_id: uuid.UUID | None = None
    rider_status: RiderStatus | None = None
    rider_name: str | None = None
    rider_phone: str | None = None


@dataclass(frozen=True, slots=True)
class ShipmentLineInfo:
    line_no: int
    order_id: uuid.UUID
    sku_id: uuid.UUID
    quantity: int


@dataclass(frozen=True, slots=True)
class NewShipmentLine:
    sku_id: uuid.UUID
    quantity: int
    order_id: uuid.UUID | None = None  # default: the shipment's order


@dataclass(frozen=True, slots=True)
class PickupPointInfo:
    id: uuid.UUID
    code: str
    name: str
    address: str
    latitude_e6: int | None
    longitude_e6: int | None
    store_id: uuid.UUID | None
    active: bool


@dataclass(frozen=True, slots=True)
class DispatchLine:
    sku_id: uuid.UUID
    quantity: int


@dataclass(frozen=True, slots=True)
class Destination:
    """Where the goods go: a point (micro-degrees), or a pickup point; for O2O orders the
    store the customer ordered from (tried first)."""

    latitude_e6: int | None = None
    longitude_e6: int | None = None
    pickup_point_id: uuid.UUID | None = None
    store_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Assignment:
    """A line and the location it ships from."""

    sku_id: uuid.UUID
    quantity: int
    location_id: uuid.UUID
    location_name: str
    location_kind: str  # STORE or WAREHOUSE


@dataclass(frozen=True, slots=True)
class Candidate:
    """How dispatch saw one location."""

    location_id: uuid.UUID
    name: str
    kind: str
    priority: int
    distance_m: int | None
    lines_covered: int
    chosen: bool
    note: str


@dataclass(frozen=True, slots=True)
class DispatchPlan:
    """Where each line of an order ships from, and why (派单结果)."""

    order_id: uuid.UUID
    assignments: tuple[Assignment, ...]
    candidates: tuple[Candidate, ...]
    explanation: tuple[str, ...]

    @property
    def locations(self) -> tuple[uuid.UUID, ...]:
        """The chosen locations, each once, in assignment order."""
        return tuple(dict.fromkeys(a.location_id for a in self.assignments))


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
