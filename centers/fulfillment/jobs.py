"""Durable jobs of the fulfillment center: polling a booked shipment's tracking.

A successful ``bookCourier`` schedules ``fulfillment.track_shipment`` round 1; each round
syncs the carrier's events (``service.sync_tracking``) and schedules the next, until the
shipment is closed, the tenant's carrier plugin is gone, or ``MAX_ROUNDS``. A carrier
that fails makes the round raise: the job runner retries it with backoff, and its
effects roll back (nothing half-written).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from centers.fulfillment import repository
from centers.fulfillment.dto import ShipmentStatus
from centers.fulfillment.service.courier import TRACK_SHIPMENT, schedule_tracking, sync_tracking
from kernel.errors import UserInputError
from kernel.jobs import JobHandler

# Two days of polling: a parcel not delivered by then is a case for the store's staff.
MAX_ROUNDS = 288
# Still moving: the carrier may publish more.
TRACKED = frozenset(
    {ShipmentStatus.PENDING, ShipmentStatus.PREPARING, ShipmentStatus.READY, ShipmentStatus.SHIPPED}
)


async def track_shipment(
    session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]
) -> None:
    shipment_id = uuid.UUID(str(payload["shipment_id"]))
    round_, plugin = int(payload["round"]), str(payload["plugin"])
    found = await repository.shipments_by_ids(session, tenant_id, [shipment_id])
    if not found or found[0].status not in TRACKED or found[0].tracking_number is None:
        return  # closed, cancelled or gone: nothing more to follow
    try:
        await sync_tracking(session, tenant_id, shipment_id=shipment_id, plugin=plugin)
    except UserInputError as error:
        if error.code == "CARRIER_NOT_CONFIGURED":
            return  # the tenant disabled its carrier: stop following
        raise  # CARRIER_UNAVAILABLE: the runner retries this round with backoff
    if round_ < MAX_ROUNDS:
        await schedule_tracking(session, tenant_id, shipment_id, plugin=plugin, round=round_ + 1)


JOB_HANDLERS: dict[str, JobHandler] = {TRACK_SHIPMENT: track_shipment}
