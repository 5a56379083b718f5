"""Ports plugins implement for the fulfillment center."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from centers.fulfillment.dto import CourierBooking, CourierBookingRequest, TrackingEvent


class CarrierGateway(Protocol):
    """A tenant's carrier or rider platform (快递 / 同城配送, e.g. SF, Dada, Meituan rider).

    One instance serves one tenant with that tenant's account, so no method takes a
    tenant id. Calls must be idempotent by our shipment id: the caller retries.
    """

    async def book_courier(self, request: CourierBookingRequest) -> CourierBooking:
        """Ask the carrier to collect a parcel at the store (下单/呼叫骑手).

        Booking the same ``shipment_id`` again must return the existing booking rather
        than send a second courier.
        """
        ...

    async def tracking_events(self, tracking_number: str) -> Sequence[TrackingEvent]:
        """Every tracking event the carrier has for ``tracking_number``, oldest first.

        An unknown number yields an empty sequence, not an error: carriers often
        publish the first event minutes after booking.
        """
        ...
