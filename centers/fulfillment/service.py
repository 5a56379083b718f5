"""Domain logic of the fulfillment center. Never commits; raises ``UserInputError`` on bad input."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.fulfillment import repository
from centers.fulfillment.dto import ShipmentInfo, ShipmentStatus
from centers.fulfillment.events import ShipmentCreated
from centers.store import api as store_api
from kernel.errors import ConflictError, UserInputError
from kernel.ids import new_id
from kernel.outbox import emit

CARRIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
TRACKING_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{3,63}$")
# Random rather than sequential: a code must not tell the next customer's code. With
# 10,000 codes a store with even a few hundred open pickups finds a free one quickly.
PICKUP_CODE_ATTEMPTS = 20


def _check_courier(carrier: str | None, tracking_number: str | None) -> None:
    if carrier is not None and not CARRIER.match(carrier):
        raise UserInputError(
            "carrier must be a code of 1-32 letters, digits, '_' or '-'",
            code="INVALID_CARRIER",
            field=["input", "carrier"],
        )
    if tracking_number is None:
        return  # a courier booked later brings its own tracking number
    if carrier is None:
        raise UserInputError(
            "a tracking number needs a carrier",
            code="INVALID_TRACKING_NUMBER",
            field=["input", "trackingNumber"],
        )
    if not TRACKING_NUMBER.match(tracking_number):
        raise UserInputError(
            "tracking number must be 4-64 letters, digits or '-'",
            code="INVALID_TRACKING_NUMBER",
            field=["input", "trackingNumber"],
        )


def new_pickup_code() -> str:
    return f"{secrets.randbelow(10_000):04d}"


async def create_shipment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    store_id: uuid.UUID,
    carrier: str | None,
    tracking_number: str | None,
) -> ShipmentInfo:
    """A shipment by ``carrier``, or without one a pickup at the store with a 取餐码."""
    _check_courier(carrier, tracking_number)
    if await store_api.get_store(session, tenant_id, store_id) is None:
        raise UserInputError("unknown store", code="INVALID_ID", field=["input", "storeId"])
    pickup = carrier is None
    for _ in range(PICKUP_CODE_ATTEMPTS if pickup else 1):
        value = ShipmentInfo(
            id=new_id(),
            tenant_id=tenant_id,
            order_id=order_id,
            store_id=store_id,
            status=ShipmentStatus.PENDING,
            carrier=carrier,
            tracking_number=tracking_number,
            pickup_code=new_pickup_code() if pickup else None,
            created_at=datetime.now(UTC),
        )
        if await repository.insert_shipment(session, value):
            break
    else:
        raise ConflictError("no free pickup code at this store, try again")
    await emit(
        session,
        tenant_id,
        ShipmentCreated(
            shipment_id=value.id,
            order_id=order_id,
            store_id=store_id,
            carrier=carrier,
            tracking_number=tracking_number,
            pickup_code=value.pickup_code,
        ),
    )
    return value
