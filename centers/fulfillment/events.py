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
