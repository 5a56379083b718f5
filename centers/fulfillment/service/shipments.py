"""Shipments (packages): creation, status, split and merge, carriers, riders.

Status: PENDING → PREPARING → READY → SHIPPED → DELIVERED → CONFIRMED, or for a pickup
READY → PICKED_UP; CANCELLED before it leaves; MERGED when its lines went into another.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.fulfillment import repository
from centers.fulfillment.dto import (
    NewShipmentLine,
    RiderStatus,
    ShipmentInfo,
    ShipmentLineInfo,
    ShipmentStatus,
)
from centers.fulfillment.events import RiderUpdated, ShipmentCreated, ShipmentStatusChanged
from centers.store import api as store_api
from kernel.errors import ConflictError, UserInputError
from kernel.ids import new_id
from kernel.outbox import emit

CARRIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
TRACKING_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{3,63}$")
PHONE = re.compile(r"^\+?[0-9 -]{5,31}$")
# Random rather than sequential: a code must not tell the next customer's code. With
# 10,000 codes a store with even a few hundred open pickups finds a free one quickly.
PICKUP_CODE_ATTEMPTS = 20
MAX_LINES = 200

S = ShipmentStatus
# Where each status may go next (by hand, by a carrier's events, or by a rider).
NEXT: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    S.PENDING: frozenset({S.PREPARING, S.READY, S.SHIPPED, S.CANCELLED}),
    S.PREPARING: frozenset({S.READY, S.SHIPPED, S.CANCELLED}),
    S.READY: frozenset({S.SHIPPED, S.PICKED_UP, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.CONFIRMED}),
    S.PICKED_UP: frozenset(),
    S.CONFIRMED: frozenset(),
    S.MERGED: frozenset(),
    S.CANCELLED: frozenset(),
}
# Not yet handed over: lines may still be split off or merged in, the carrier changed.
OPEN = frozenset({S.PENDING, S.PREPARING, S.READY})
R = RiderStatus
RIDER_NEXT: dict[RiderStatus | None, frozenset[RiderStatus]] = {
    None: frozenset({R.ASSIGNED}),
    R.ASSIGNED: frozenset({R.AT_STORE, R.PICKED_UP, R.CANCELLED}),
    R.AT_STORE: frozenset({R.PICKED_UP, R.CANCELLED}),
    R.PICKED_UP: frozenset({R.DELIVERED}),
    R.DELIVERED: frozenset(),
    R.CANCELLED: frozenset({R.ASSIGNED}),
}


def check_courier(carrier: str | None, tracking_number: str | None) -> None:
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


def _check_lines(lines: Sequence[NewShipmentLine]) -> None:
    if len(lines) > MAX_LINES:
        raise UserInputError(
            f"at most {MAX_LINES} lines", code="TOO_MANY_LINES", field=["input", "lines"]
        )
    for index, item in enumerate(lines):
        if not 1 <= item.quantity <= 100_000:
            raise UserInputError(
                "quantity must be between 1 and 100000",
                code="INVALID_QUANTITY",
                field=["input", "lines", str(index), "quantity"],
            )


async def _insert_with_code(session: AsyncSession, template: ShipmentInfo) -> ShipmentInfo:
    """Insert; a pickup (no carrier) gets a random code no open pickup there holds."""
    pickup = template.carrier is None
    for _ in range(PICKUP_CODE_ATTEMPTS if pickup else 1):
        value = ShipmentInfo(
            id=new_id(),
            tenant_id=template.tenant_id,
            order_id=template.order_id,
            store_id=template.store_id,
            status=template.status,
            carrier=template.carrier,
            tracking_number=template.tracking_number,
            pickup_code=new_pickup_code() if pickup else None,
            created_at=datetime.now(UTC),
            pickup_point_id=template.pickup_point_id,
        )
        if await repository.insert_shipment(session, value):
            return value
    raise ConflictError("no free pickup code at this store, try again")


async def create_shipment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    store_id: uuid.UUID,
    carrier: str | None,
    tracking_number: str | None,
    lines: Sequence[NewShipmentLine] = (),
    pickup_point_id: uuid.UUID | None = None,
) -> ShipmentInfo:
    """A shipment by ``carrier``, or without one a pickup at the store with a 取餐码;
    ``pickup_point_id`` sends it to a pickup point (自提点) instead of an address."""
    check_courier(carrier, tracking_number)
    _check_lines(lines)
    if await store_api.get_store(session, tenant_id, store_id) is None:
        raise UserInputError("unknown store", code="INVALID_ID", field=["input", "storeId"])
    if pickup_point_id is not None and not await repository.pickup_points_by_ids(
        session, tenant_id, [pickup_point_id]
    ):
        raise UserInputError(
            "pickup point not found",
            code="PICKUP_POINT_NOT_FOUND",
            field=["input", "pickupPointId"],
        )
    value = await _insert_with_code(
        session,
        ShipmentInfo(
            id=new_id(),
            tenant_id=tenant_id,
            order_id=order_id,
            store_id=store_id,
            status=ShipmentStatus.PENDING,
            carrier=carrier,
            tracking_number=tracking_number,
            pickup_code=None,
            created_at=datetime.now(UTC),
            pickup_point_id=pickup_point_id,
        ),
    )
    await repository.insert_lines(
        session, tenant_id, value.id, repository.numbered(order_id, lines)
    )
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


async def _one(session: AsyncSession, tenant_id: uuid.UUID, shipment_id: uuid.UUID) -> ShipmentInfo:
    found = await repository.lock_shipments(session, tenant_id, [shipment_id])
    if not found:
        raise UserInputError(
            "shipment not found", code="SHIPMENT_NOT_FOUND", field=["input", "shipmentId"]
        )
    return found[0]


async def _announce(session: AsyncSession, tenant_id: uuid.UUID, value: ShipmentInfo) -> None:
    await emit(
        session,
        tenant_id,
        ShipmentStatusChanged(
            shipment_id=value.id,
            order_id=value.order_id,
            store_id=value.store_id,
            status=value.status.value,
            pickup_code=value.pickup_code,
            carrier=value.carrier,
            tracking_number=value.tracking_number,
        ),
    )


async def move(
    session: AsyncSession, tenant_id: uuid.UUID, current: ShipmentInfo, to: ShipmentStatus
) -> ShipmentInfo:
    """Change the status if the machine allows it (same status again: no change)."""
    if current.status is to:
        return current
    if to not in NEXT[current.status]:
        raise UserInputError(
            f"a {current.status.value} shipment cannot become {to.value}",
            code="INVALID_TRANSITION",
            field=["input", "status"],
        )
    if to is S.PICKED_UP and current.carrier is not None:
        raise UserInputError(
            "a courier shipment is delivered, not picked up",
            code="INVALID_TRANSITION",
            field=["input", "status"],
        )
    if to is S.SHIPPED and current.carrier is None:
        raise UserInputError(
            "a pickup has no carrier to ship with; assign one first",
            code="INVALID_TRANSITION",
            field=["input", "status"],
        )
    changed = await repository.update_shipment(session, tenant_id, current.id, status=to.value)
    await _announce(session, tenant_id, changed)
    return changed


async def set_status(
    session: AsyncSession, tenant_id: uuid.UUID, *, shipment_id: uuid.UUID, status: ShipmentStatus
) -> ShipmentInfo:
    if status is S.MERGED:
        raise UserInputError(
            "use mergeShipments to merge", code="INVALID_TRANSITION", field=["input", "status"]
        )
    return await move(session, tenant_id, await _one(session, tenant_id, shipment_id), status)


async def assign_carrier(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    shipment_id: uuid.UUID,
    carrier: str,
    tracking_number: str | None,
    mark_shipped: bool = False,
) -> ShipmentInfo:
    """Set (or change, before it leaves) the carrier and tracking number."""
    check_courier(carrier, tracking_number)
    current = await _one(session, tenant_id, shipment_id)
    same = current.carrier == carrier and current.tracking_number == tracking_number
    if current.status not in OPEN and not same:
        raise UserInputError(
            f"a {current.status.value} shipment keeps its carrier",
            code="INVALID_TRANSITION",
            field=["input", "shipmentId"],
        )
    changed = current
    if not same:
        # A pickup turned into a delivery gives its counter code up.
        changed = await repository.update_shipment(
            session,
            tenant_id,
            shipment_id,
            carrier=carrier,
            tracking_number=tracking_number,
            pickup_code=None,
        )
    if mark_shipped and changed.status in OPEN:
        changed = await move(session, tenant_id, changed, S.SHIPPED)
    return changed


async def update_rider(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    shipment_id: uuid.UUID,
    status: RiderStatus,
    rider_name: str | None,
    rider_phone: str | None,
) -> ShipmentInfo:
    """A rider platform's (or the store's) update on a restaurant delivery."""
    if rider_name is not None and not 1 <= len(rider_name.strip()) <= 64:
        raise UserInputError(
            "rider name is 1-64 characters", code="INVALID_NAME", field=["input", "riderName"]
        )
    if rider_phone is not None and not PHONE.match(rider_phone):
        raise UserInputError(
            "not a phone number", code="INVALID_PHONE", field=["input", "riderPhone"]
        )
    current = await _one(session, tenant_id, shipment_id)
    if current.carrier is None:
        raise UserInputError(
            "a pickup has no rider; assign the rider platform as carrier first",
            code="INVALID_TRANSITION",
            field=["input", "shipmentId"],
        )
    if status is current.rider_status:
        return current
    if status not in RIDER_NEXT[current.rider_status] or current.status in (S.CANCELLED, S.MERGED):
        raise UserInputError(
            f"rider cannot go from {current.rider_status} to {status.value}",
            code="INVALID_TRANSITION",
            field=["input", "status"],
        )
    changed = await repository.update_shipment(
        session,
        tenant_id,
        shipment_id,
        rider_status=status.value,
        rider_name=rider_name.strip() if rider_name else current.rider_name,
        rider_phone=rider_phone or current.rider_phone,
    )
    if status is R.PICKED_UP:
        changed = await move(session, tenant_id, changed, S.SHIPPED)
    elif status is R.DELIVERED:
        changed = await move(session, tenant_id, changed, S.DELIVERED)
    await emit(
        session,
        tenant_id,
        RiderUpdated(
            shipment_id=changed.id,
            order_id=changed.order_id,
            rider_status=status.value,
            rider_name=changed.rider_name,
            rider_phone=changed.rider_phone,
        ),
    )
    return changed


async def split(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    shipment_id: uuid.UUID,
    take: Sequence[tuple[int, int]],
) -> tuple[ShipmentInfo, ShipmentInfo]:
    """Move ``(line_no, quantity)`` out of a shipment into a new one (拆包); returns both."""
    current = await _one(session, tenant_id, shipment_id)
    if current.status not in OPEN:
        raise UserInputError(
            f"a {current.status.value} shipment cannot be split",
            code="INVALID_TRANSITION",
            field=["input", "shipmentId"],
        )
    lines = (await repository.lines_of(session, tenant_id, [shipment_id]))[shipment_id]
    by_no = {item.line_no: item for item in lines}
    wanted: dict[int, int] = {}
    for index, (line_no, quantity) in enumerate(take):
        item = by_no.get(line_no)
        wanted[line_no] = wanted.get(line_no, 0) + quantity
        if item is None or quantity < 1 or wanted[line_no] > item.quantity:
            raise UserInputError(
                "each part names a line of the shipment and at most its quantity",
                code="INVALID_SPLIT",
                field=["input", "lines", str(index)],
            )
    kept = [
        ShipmentLineInfo(i.line_no, i.order_id, i.sku_id, i.quantity - wanted.get(i.line_no, 0))
        for i in lines
        if i.quantity > wanted.get(i.line_no, 0)
    ]
    moved = [
        ShipmentLineInfo(n + 1, by_no[no].order_id, by_no[no].sku_id, qty)
        for n, (no, qty) in enumerate(wanted.items())
    ]
    if not kept or not moved:
        raise UserInputError(
            "a split leaves something in both shipments",
            code="INVALID_SPLIT",
            field=["input", "lines"],
        )
    created = await _insert_with_code(
        session,
        ShipmentInfo(
            id=new_id(),
            tenant_id=tenant_id,
            order_id=current.order_id,
            store_id=current.store_id,
            status=current.status,
            carrier=current.carrier,
            tracking_number=None,  # a second parcel gets its own number
            pickup_code=None,
            created_at=datetime.now(UTC),
            pickup_point_id=current.pickup_point_id,
        ),
    )
    await repository.replace_lines(session, tenant_id, shipment_id, kept)
    await repository.insert_lines(session, tenant_id, created.id, moved)
    await emit(
        session,
        tenant_id,
        ShipmentCreated(
            shipment_id=created.id,
            order_id=created.order_id,
            store_id=created.store_id,
            carrier=created.carrier,
            tracking_number=None,
            pickup_code=created.pickup_code,
        ),
    )
    return current, created


async def merge(
    session: AsyncSession, tenant_id: uuid.UUID, *, shipment_ids: Sequence[uuid.UUID]
) -> ShipmentInfo:
    """Put the lines of several open shipments from one store to one destination into
    the first (合单); the others become MERGED."""
    ids = list(dict.fromkeys(shipment_ids))
    if len(ids) < 2:
        raise UserInputError(
            "merge at least two shipments", code="INVALID_MERGE", field=["input", "shipmentIds"]
        )
    found = {s.id: s for s in await repository.lock_shipments(session, tenant_id, ids)}
    if len(found) != len(ids):
        raise UserInputError(
            "shipment not found", code="SHIPMENT_NOT_FOUND", field=["input", "shipmentIds"]
        )
    target = found[ids[0]]
    for other in found.values():
        if (
            other.status not in OPEN
            or other.store_id != target.store_id
            or other.pickup_point_id != target.pickup_point_id
            or other.carrier != target.carrier
        ):
            raise UserInputError(
                "only open shipments from one store, to one destination, with one carrier merge",
                code="INVALID_MERGE",
                field=["input", "shipmentIds"],
            )
    lines = await repository.lines_of(session, tenant_id, ids)
    if not all(lines[i] for i in ids):
        raise UserInputError(
            "only shipments with lines merge (their lines say which orders they carry)",
            code="INVALID_MERGE",
            field=["input", "shipmentIds"],
        )
    merged: list[ShipmentLineInfo] = []
    for shipment_id in ids:
        for item in lines[shipment_id]:
            merged.append(
                ShipmentLineInfo(len(merged) + 1, item.order_id, item.sku_id, item.quantity)
            )
    await repository.replace_lines(session, tenant_id, target.id, merged)
    for shipment_id in ids[1:]:
        await repository.replace_lines(session, tenant_id, shipment_id, [])
        gone = await repository.update_shipment(
            session, tenant_id, shipment_id, status=S.MERGED.value
        )
        await _announce(session, tenant_id, gone)
    return target
