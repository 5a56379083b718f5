"""GraphQL inputs and payloads of booking a courier and syncing tracking through the
tenant's carrier plugin (``bookCourier``, ``syncShipmentTracking``)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from centers.fulfillment.dto import CourierBooking as CourierBookingValue
from centers.fulfillment.graphql.types import Shipment
from kernel.graphql.types import Money, UserError

PLUGIN_HELP = "The carrier plugin to use; default: the one the tenant enabled."


@strawberry.input
class BookCourierInput:
    shipment_id: strawberry.ID
    receiver_name: str
    receiver_phone: str
    receiver_address: str
    ready_at: datetime | None = strawberry.field(
        default=None, description="When the parcel can be collected; default now."
    )
    plugin: str | None = strawberry.field(default=None, description=PLUGIN_HELP)


@strawberry.type(description="What the carrier answered to a booking (下单/呼叫骑手).")
class CourierBooking:
    carrier: str
    tracking_number: str
    fee: Money | None = strawberry.field(description="What the carrier charges, if it says.")
    estimated_pickup_at: datetime | None

    @classmethod
    def of(cls, value: CourierBookingValue) -> CourierBooking:
        return cls(
            carrier=value.carrier,
            tracking_number=value.tracking_number,
            fee=Money.of(value.fee) if value.fee else None,
            estimated_pickup_at=value.estimated_pickup_at,
        )


@strawberry.type
class BookCourierPayload:
    shipment: Shipment | None
    booking: CourierBooking | None
    user_errors: list[UserError]


@strawberry.input
class SyncShipmentTrackingInput:
    shipment_id: strawberry.ID
    plugin: str | None = strawberry.field(default=None, description=PLUGIN_HELP)


@strawberry.type
class SyncShipmentTrackingPayload:
    fetched: int = strawberry.field(description="Distinct events the carrier has.")
    added: int = strawberry.field(description="Of them, events not stored before.")
    shipment: Shipment | None
    user_errors: list[UserError]
