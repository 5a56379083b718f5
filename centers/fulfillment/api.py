"""The fulfillment center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.fulfillment import repository, service
from centers.fulfillment.dto import ShipmentInfo, ShipmentStatus

__all__ = [
    "ShipmentInfo",
    "ShipmentStatus",
    "create_shipment",
    "get_shipment",
    "get_shipments",
    "shipments_of_orders",
]


async def create_shipment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    store_id: uuid.UUID,
    carrier: str | None = None,
    tracking_number: str | None = None,
) -> ShipmentInfo:
    """Create a PENDING shipment; without ``carrier`` it is a pickup with a 4-digit code.

    Raises ``UserInputError`` (``INVALID_ID`` for a store not of this tenant,
    ``INVALID_CARRIER``, ``INVALID_TRACKING_NUMBER``).
    """
    return await service.create_shipment(
        session,
        tenant_id,
        order_id=order_id,
        store_id=store_id,
        carrier=carrier,
        tracking_number=tracking_number,
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
