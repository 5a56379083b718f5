"""The fulfillment center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.fulfillment import repository, service
from centers.fulfillment.dto import (
    Assignment,
    Candidate,
    Destination,
    DispatchLine,
    DispatchPlan,
    NewShipmentLine,
    PickupPointInfo,
    RiderStatus,
    ShipmentInfo,
    ShipmentStatus,
)

__all__ = [
    "Assignment",
    "Candidate",
    "Destination",
    "DispatchLine",
    "DispatchPlan",
    "NewShipmentLine",
    "PickupPointInfo",
    "RiderStatus",
    "ShipmentInfo",
    "ShipmentStatus",
    "create_shipment",
    "dispatch",
    "get_dispatch",
    "get_pickup_points",
    "get_shipment",
    "get_shipments",
    "set_shipment_status",
    "shipments_of_orders",
]


async def dispatch(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    lines: Sequence[DispatchLine],
    destination: Destination,
) -> DispatchPlan:
    """Choose where each line of an order (or sub-order) ships from (派单), and say why.

    Store first for O2O (``destination.store_id``: the store ordered from, if it has
    every line); else one location with every line, by warehouse priority, distance to
    the destination (a point or ``pickup_point_id``) and stock; else a split, line by
    line. Reads stock, reserves nothing: reserve at ``plan.assignments[i].location_id``
    with ``stock.api.reserve``. The plan (with its explanation) is recorded for the
    order, replacing an earlier one, and ``fulfillment.order_dispatched`` is emitted.
    Raises ``UserInputError``: ``NO_LINES``, ``TOO_MANY_LINES``, ``INVALID_QUANTITY``,
    ``OUT_OF_STOCK`` (a line no active location can fill), ``STORE_NOT_FOUND``,
    ``PICKUP_POINT_NOT_FOUND``.
    """
    return await service.plan(
        session, tenant_id, order_id=order_id, lines=lines, destination=destination
    )


async def get_dispatch(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> DispatchPlan | None:
    """The last dispatch plan recorded for the order, or ``None``."""
    found = await repository.dispatches_by_orders(session, tenant_id, [order_id])
    return service.from_json(order_id, found[order_id]) if order_id in found else None


async def set_shipment_status(
    session: AsyncSession, tenant_id: uuid.UUID, shipment_id: uuid.UUID, status: ShipmentStatus
) -> ShipmentInfo:
    """Move a shipment on (e.g. CONFIRMED when the buyer confirms receipt, CANCELLED when
    the order is cancelled before it leaves). Raises ``SHIPMENT_NOT_FOUND``,
    ``INVALID_TRANSITION``."""
    return await service.set_status(session, tenant_id, shipment_id=shipment_id, status=status)


async def get_pickup_points(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, PickupPointInfo]:
    """The tenant's pickup points among ``ids`` (an order may name one as its address)."""
    return {p.id: p for p in await repository.pickup_points_by_ids(session, tenant_id, ids)}


async def create_shipment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    store_id: uuid.UUID,
    carrier: str | None = None,
    tracking_number: str | None = None,
    lines: Sequence[NewShipmentLine] = (),
    pickup_point_id: uuid.UUID | None = None,
) -> ShipmentInfo:
    """Create a PENDING shipment (a package) of ``lines``; without ``carrier`` it is a
    pickup with a 4-digit code; ``pickup_point_id`` delivers it to a pickup point.

    Raises ``UserInputError`` (``INVALID_ID`` for a store not of this tenant,
    ``INVALID_CARRIER``, ``INVALID_TRACKING_NUMBER``, ``INVALID_QUANTITY``,
    ``TOO_MANY_LINES``, ``PICKUP_POINT_NOT_FOUND``).
    """
    return await service.create_shipment(
        session,
        tenant_id,
        order_id=order_id,
        store_id=store_id,
        carrier=carrier,
        tracking_number=tracking_number,
        lines=lines,
        pickup_point_id=pickup_point_id,
    )


async def get_shipments(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ShipmentInfo]:
    """The tenant's shipments among ``ids``; ids of other tenants are simply absent."""
    return {s.id: s for s in await repository.shipments_by_ids(session, tenant_id, ids)}


async def get_shipment(
    session: AsyncSession, tenant_id: uuid.UUID, shipment_id: uuid.UUID
) -> ShipmentInfo | None:
    """One shipment of the tenant, or ``None`` (also for another tenant's shipment)."""
    return (await get_shipments(session, tenant_id, [shipment_id])).get(shipment_id)


async def shipments_of_orders(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ShipmentInfo]]:
    """Each of ``order_ids`` with the tenant's shipments for it, oldest first (``[]`` if none)."""
    return await repository.shipments_by_order_ids(session, tenant_id, order_ids)
