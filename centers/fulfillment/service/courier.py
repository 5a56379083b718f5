"""Booking a courier and pulling tracking events through the tenant's carrier plugin
(the ``CarrierGateway`` port; decision 0090).

The carrier is called before anything is written, so a carrier that fails leaves the
shipment as it was; the booking is idempotent at the carrier by our shipment id, so the
caller simply retries (a booking the carrier made but whose answer was lost comes back
the same).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from centers.fulfillment import carriers, repository
from centers.fulfillment.dto import (
    CourierBooking,
    CourierBookingRequest,
    ShipmentInfo,
    TrackingEvent,
)
from centers.fulfillment.service.shipments import (
    CARRIER,
    OPEN,
    PHONE,
    TRACKING_NUMBER,
    assign_carrier,
)
from centers.fulfillment.service.tracking import MAX_EVENTS_PER_CALL, record_events
from kernel.errors import UserInputError
from kernel.jobs import schedule_job

MAX_NAME = 64
# The durable job that follows a booked shipment (centers/fulfillment/jobs.py).
TRACK_SHIPMENT = "fulfillment.track_shipment"
POLL_EVERY = timedelta(minutes=10)
MAX_ADDRESS = 200


@dataclass(frozen=True, slots=True)
class Receiver:
    name: str
    phone: str
    address: str


@dataclass(frozen=True, slots=True)
class TrackingSync:
    fetched: int  # distinct events the carrier has
    added: int  # of them, not stored before
    shipment: ShipmentInfo


def _check_receiver(receiver: Receiver) -> Receiver:
    name, phone, address = receiver.name.strip(), receiver.phone.strip(), receiver.address.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise UserInputError(
            f"receiver name is 1-{MAX_NAME} characters",
            code="INVALID_NAME",
            field=["input", "receiverName"],
        )
    if not PHONE.match(phone):
        raise UserInputError(
            "not a phone number", code="INVALID_PHONE", field=["input", "receiverPhone"]
        )
    if not 1 <= len(address) <= MAX_ADDRESS:
        raise UserInputError(
            f"receiver address is 1-{MAX_ADDRESS} characters",
            code="INVALID_ADDRESS",
            field=["input", "receiverAddress"],
        )
    return Receiver(name, phone, address)


async def _shipment(
    session: AsyncSession, tenant_id: uuid.UUID, shipment_id: uuid.UUID
) -> ShipmentInfo:
    found = await repository.shipments_by_ids(session, tenant_id, [shipment_id])
    if not found:
        raise UserInputError(
            "shipment not found", code="SHIPMENT_NOT_FOUND", field=["input", "shipmentId"]
        )
    return found[0]


def _garbage(message: str) -> UserInputError:
    return UserInputError(message, code="CARRIER_UNAVAILABLE", field=["input", "shipmentId"])


async def book_courier(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    shipment_id: uuid.UUID,
    receiver: Receiver,
    ready_at: datetime | None = None,
    plugin: str | None = None,
) -> tuple[ShipmentInfo, CourierBooking]:
    """Ask the tenant's carrier for a courier and give the shipment its carrier and
    tracking number. Booking the same shipment again returns the same booking."""
    checked = _check_receiver(receiver)
    if ready_at is not None and ready_at.tzinfo is None:
        raise UserInputError(
            "readyAt needs a time zone", code="INVALID_TIME", field=["input", "readyAt"]
        )
    current = await _shipment(session, tenant_id, shipment_id)
    if current.status not in OPEN and current.tracking_number is None:
        raise UserInputError(
            f"a {current.status.value} shipment cannot be booked",
            code="INVALID_TRANSITION",
            field=["input", "shipmentId"],
        )
    async with carriers.gateway(session, tenant_id, plugin) as carrier:
        used = carrier.name
        booking = await carrier.call(
            carrier.port.book_courier(
                CourierBookingRequest(
                    shipment_id=current.id,
                    store_id=current.store_id,
                    receiver_name=checked.name,
                    receiver_phone=checked.phone,
                    receiver_address=checked.address,
                    ready_at=ready_at,
                )
            )
        )
    if not CARRIER.match(booking.carrier) or not TRACKING_NUMBER.match(booking.tracking_number):
        raise _garbage(f"the carrier answered an unusable booking {booking.tracking_number!r}")
    booked = await assign_carrier(
        session,
        tenant_id,
        shipment_id=current.id,
        carrier=booking.carrier,
        tracking_number=booking.tracking_number,
    )
    # Follow it from now on (once: a second booking finds round 1 scheduled).
    await schedule_tracking(session, tenant_id, booked.id, plugin=used)
    return booked, booking


async def sync_tracking(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    shipment_id: uuid.UUID,
    plugin: str | None = None,
) -> TrackingSync:
    """Fetch the shipment's tracking events from the carrier and store those not stored
    yet (the same event twice is kept once), through ``record_events``."""
    current = await _shipment(session, tenant_id, shipment_id)
    if current.tracking_number is None:
        raise UserInputError(
            "the shipment has no tracking number; book a courier first",
            code="NOT_BOOKED",
            field=["input", "shipmentId"],
        )
    async with carriers.gateway(session, tenant_id, plugin) as carrier:
        fetched = await carrier.call(carrier.port.tracking_events(current.tracking_number))
    events = _usable(fetched)
    added = 0
    for start in range(0, len(events), MAX_EVENTS_PER_CALL):
        added += await record_events(
            session,
            tenant_id,
            shipment_id=current.id,
            events=events[start : start + MAX_EVENTS_PER_CALL],
        )
    return TrackingSync(fetched=len(events), added=added, shipment=current)


async def schedule_tracking(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    shipment_id: uuid.UUID,
    *,
    plugin: str,
    round: int = 1,
    now: datetime | None = None,
) -> bool:
    """Schedule a round of tracking (once per shipment and round)."""
    return await schedule_job(
        session,
        tenant_id,
        TRACK_SHIPMENT,
        f"{shipment_id}:{round}",
        (now or datetime.now(UTC)) + POLL_EVERY,
        {"shipment_id": str(shipment_id), "plugin": plugin, "round": round},
    )


def _usable(fetched: Sequence[TrackingEvent]) -> list[TrackingEvent]:
    """The carrier's events, each once; garbage refuses the whole sync (nothing written)."""
    if not isinstance(fetched, Sequence):
        raise _garbage("the carrier answered no list of tracking events")
    seen: dict[tuple[datetime, str], TrackingEvent] = {}
    for event in fetched:
        if not isinstance(event, TrackingEvent) or event.occurred_at.tzinfo is None:
            raise _garbage("the carrier answered a malformed tracking event")
        description = event.description.strip()[:200]
        if not description:
            continue
        location = event.location[:100] if event.location else None
        seen.setdefault(
            (event.occurred_at, description),
            TrackingEvent(event.occurred_at, description, location),
        )
    return sorted(seen.values(), key=lambda e: e.occurred_at)
