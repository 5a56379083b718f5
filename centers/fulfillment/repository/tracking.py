"""Tracking events of shipments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.fulfillment.dto import TrackingEvent
from centers.fulfillment.models import TrackingEvent as TrackingEventRow
from kernel.db import table_of
from kernel.ids import new_id

tracking_event = table_of(TrackingEventRow)
# A parcel's history is tens of events; this bound keeps a read finite.
MAX_EVENTS = 200


async def insert_events(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    shipment_id: uuid.UUID,
    events: Sequence[TrackingEvent],
) -> int:
    """Store the events not stored yet; returns how many were new."""
    if not events:
        return 0
    now = datetime.now(UTC)
    written = await session.execute(
        insert(tracking_event)
        .values(
            [
                {
                    "tenant_id": tenant_id,
                    "id": new_id(),
                    "shipment_id": shipment_id,
                    "occurred_at": e.occurred_at,
                    "description": e.description,
                    "location": e.location,
                    "created_at": now,
                }
                for e in events
            ]
        )
        .on_conflict_do_nothing()
        .returning(tracking_event.c.id)
    )
    return len(written.all())


async def events_of(
    session: AsyncSession, tenant_id: uuid.UUID, shipment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[TrackingEvent]]:
    """Each shipment's events, oldest first (the newest MAX_EVENTS at most)."""
    found: dict[uuid.UUID, list[TrackingEvent]] = {i: [] for i in shipment_ids}
    if not shipment_ids:
        return found
    ranked = (
        sa.select(
            tracking_event.c.shipment_id,
            tracking_event.c.occurred_at,
            tracking_event.c.description,
            tracking_event.c.location,
            sa.func.row_number()
            .over(
                partition_by=tracking_event.c.shipment_id,
                order_by=tracking_event.c.occurred_at.desc(),
            )
            .label("rank"),
        )
        .where(
            tracking_event.c.tenant_id == tenant_id,
            tracking_event.c.shipment_id.in_(shipment_ids),
        )
        .subquery()
    )
    rows = await session.execute(
        sa.select(
            ranked.c.shipment_id, ranked.c.occurred_at, ranked.c.description, ranked.c.location
        )
        .where(ranked.c.rank <= MAX_EVENTS)
        .order_by(ranked.c.shipment_id, ranked.c.occurred_at)
    )
    for row in rows.all():
        found[row.shipment_id].append(TrackingEvent(row.occurred_at, row.description, row.location))
    return found
