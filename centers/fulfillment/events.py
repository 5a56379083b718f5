"""Events the fulfillment center publishes (topic ``fulfillment.*``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class ShipmentCreated:
    """A shipment exists; the customer can be told its tracking number or pickup code."""

    topic: ClassVar[str] = "fulfillment.shipment_created"
    shipment_id: uuid.UUID
    order_id: uuid.UUID
    store_id: uuid.UUID
    carrier: str | None
    tracking_number: str | None
    pickup_code: str | None

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.shipment_id


@dataclass(frozen=True, slots=True)
class ShipmentStatusChanged:
    """A shipment moved on: READY with a pickup code is the 取餐 notification, SHIPPED
    carries the tracking number, DELIVERED / PICKED_UP / CONFIRMED close it."""

    topic: ClassVar[str] = "fulfillment.shipment_status_changed"
    shipment_id: uuid.UUID
    order_id: uuid.UUID
    store_id: uuid.UUID
    status: str
    pickup_code: str | None
    carrier: str | None
    tracking_number: str | None

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.shipment_id


@dataclass(frozen=True, slots=True)
class RiderUpdated:
    """A rider's progress on a delivery, for the customer's and the store's screens."""

    topic: ClassVar[str] = "fulfillment.rider_updated"
    shipment_id: uuid.UUID
    order_id: uuid.UUID
    rider_status: str
    rider_name: str | None
    rider_phone: str | None

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.shipment_id


@dataclass(frozen=True, slots=True)
class OrderDispatched:
    """Dispatch chose where each line of an order ships from (派单)."""

    topic: ClassVar[str] = "fulfillment.order_dispatched"
    order_id: uuid.UUID
    location_ids: list[uuid.UUID]

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.order_id
