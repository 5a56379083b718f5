"""Tracking events and tracking numbers imported by CSV (for channels without an API)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.fulfillment import repository
from centers.fulfillment.dto import TrackingEvent
from centers.fulfillment.service.shipments import OPEN, assign_carrier
from kernel.errors import UserInputError

MAX_EVENTS_PER_CALL = 100
COLUMNS = ("carrier", "tracking_number")


async def record_events(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    shipment_id: uuid.UUID,
    events: Sequence[TrackingEvent],
) -> int:
    """Store a carrier's events (the same event twice is kept once); returns how many
    were new."""
    if not 1 <= len(events) <= MAX_EVENTS_PER_CALL:
        raise UserInputError(
            f"send 1 to {MAX_EVENTS_PER_CALL} events",
            code="TOO_MANY_EVENTS",
            field=["input", "events"],
        )
    for index, event in enumerate(events):
        path = ["input", "events", str(index)]
        if event.occurred_at.tzinfo is None:
            raise UserInputError(
                "occurredAt needs a time zone", code="INVALID_TIME", field=[*path, "occurredAt"]
            )
        if not 1 <= len(event.description.strip()) <= 200:
            raise UserInputError(
                "description is 1-200 characters",
                code="INVALID_DESCRIPTION",
                field=[*path, "description"],
            )
        if event.location is not None and len(event.location) > 100:
            raise UserInputError(
                "location is at most 100 characters",
                code="INVALID_LOCATION",
                field=[*path, "location"],
            )
    if not await repository.shipments_by_ids(session, tenant_id, [shipment_id]):
        raise UserInputError(
            "shipment not found", code="SHIPMENT_NOT_FOUND", field=["input", "shipmentId"]
        )
    return await repository.insert_events(
        session,
        tenant_id,
        shipment_id,
        [TrackingEvent(e.occurred_at, e.description.strip(), e.location) for e in events],
    )


async def _import_row(session: AsyncSession, tenant_id: uuid.UUID, row: dict[str, str]) -> None:
    shipment_text, order_text = row.get("shipment_id", ""), row.get("order_id", "")
    try:
        shipment_id = uuid.UUID(shipment_text) if shipment_text else None
        order_id = uuid.UUID(order_text) if order_text else None
    except ValueError:
        raise UserInputError(
            "not an id", code="INVALID_ID", field=["shipment_id" if shipment_text else "order_id"]
        ) from None
    if shipment_id is None:
        if order_id is None:
            raise UserInputError(
                "give shipment_id or order_id", code="INVALID_ID", field=["shipment_id"]
            )
        found = (await repository.shipments_by_order_ids(session, tenant_id, [order_id]))[order_id]
        waiting = [s for s in found if s.status in OPEN and s.tracking_number is None]
        if len(waiting) != 1:
            raise UserInputError(
                f"the order has {len(waiting)} open shipments without a tracking number; "
                "name the shipment_id",
                code="AMBIGUOUS_ORDER" if waiting else "SHIPMENT_NOT_FOUND",
                field=["order_id"],
            )
        shipment_id = waiting[0].id
    elif not await repository.shipments_by_ids(session, tenant_id, [shipment_id]):
        raise UserInputError("shipment not found", code="SHIPMENT_NOT_FOUND", field=["shipment_id"])
    try:
        await assign_carrier(
            session,
            tenant_id,
            shipment_id=shipment_id,
            carrier=row["carrier"],
            tracking_number=row["tracking_number"] or None,
            mark_shipped=True,
        )
    except UserInputError as error:
        column = {"INVALID_CARRIER": "carrier", "INVALID_TRACKING_NUMBER": "tracking_number"}
        raise UserInputError(
            error.message, code=error.code, field=[column.get(error.code, "shipment_id")]
        ) from None


async def import_tracking_csv(
    session: AsyncSession, tenant_id: uuid.UUID, text: str
) -> tuple[int, int, list[tuple[int, str | None, str, str]]]:
    """Apply ``shipment_id|order_id, carrier, tracking_number`` rows, each on its own:
    the shipment gets its carrier and number and is SHIPPED. Returns (rows, applied,
    rejected as (line, column, code, message))."""
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [h.strip() for h in reader.fieldnames or []]
    except csv.Error as error:
        raise UserInputError(
            f"not a CSV file: {error}", code="MALFORMED_CSV", field=["input", "csv"]
        ) from None
    if any(c not in header for c in COLUMNS) or not ({"shipment_id", "order_id"} & set(header)):
        raise UserInputError(
            "the header needs shipment_id or order_id, carrier and tracking_number",
            code="MISSING_COLUMN",
            field=["input", "csv"],
        )
    reader.fieldnames = header
    rows = applied = 0
    rejected: list[tuple[int, str | None, str, str]] = []
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise UserInputError(
                f"line {reader.line_num}: {error}", code="MALFORMED_CSV", field=["input", "csv"]
            ) from None
        rows += 1
        row = {k: (v or "").strip() for k, v in raw.items() if isinstance(k, str)}
        savepoint = await session.begin_nested()
        try:
            await _import_row(session, tenant_id, row)
        except UserInputError as error:
            await savepoint.rollback()
            rejected.append(
                (
                    reader.line_num,
                    error.field[0] if error.field else None,
                    error.code,
                    error.message,
                )
            )
        except BaseException:
            await savepoint.rollback()
            raise
        else:
            await savepoint.commit()
            applied += 1
    return rows, applied, rejected
