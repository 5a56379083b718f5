"""Every query of the fulfillment center; tenant scoping lives here and only here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.fulfillment.dto import ShipmentInfo, ShipmentStatus
from centers.fulfillment.models import Shipment
from kernel.db import table_of

shipment = table_of(Shipment)

_shipment_columns = (
    shipment.c.id,
    shipment.c.tenant_id,
    shipment.c.order_id,
    shipment.c.store_id,
    shipment.c.status,
    shipment.c.carrier,
    shipment.c.tracking_number,
    shipment.c.pickup_code,
    shipment.c.created_at,
)


def _shipment(row: sa.RowMapping) -> ShipmentInfo:
    return ShipmentInfo(
        id=row["id"],
        tenant_id=row["tenant_id"],
        order_id=row["order_id"],
        store_id=row["store_id"],
        status=ShipmentStatus(row["status"]),
        carrier=row["carrier"],
        tracking_number=row["tracking_number"],
        pickup_code=row["pickup_code"],
        created_at=row["created_at"],
    )


async def insert_shipment(session: AsyncSession, value: ShipmentInfo) -> bool:
    """Insert unless its pickup code is held by an open shipment of the same store."""
    written = await session.scalar(
        insert(shipment)
        .values(
            tenant_id=value.tenant_id,
            id=value.id,
            order_id=value.order_id,
            store_id=value.store_id,
            status=value.status.value,
            carrier=value.carrier,
            tracking_number=value.tracking_number,
            pickup_code=value.pickup_code,
            created_at=value.created_at,
        )
        .on_conflict_do_nothing()
        .returning(shipment.c.id)
    )
    return written is not None


async def shipments_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[ShipmentInfo]:
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_shipment_columns).where(
            shipment.c.tenant_id == tenant_id, shipment.c.id.in_(ids)
        )
    )
    return [_shipment(row) for row in rows.mappings().all()]


async def shipments_by_order_ids(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ShipmentInfo]]:
    """Each order id with its shipments, oldest first (``[]`` if none or another tenant's).

    Unpaged on purpose: an order splits into a handful of shipments at most.
    """
    found: dict[uuid.UUID, list[ShipmentInfo]] = {i: [] for i in order_ids}
    if not order_ids:
        return found
    rows = await session.execute(
        sa.select(*_shipment_columns)
        .where(shipment.c.tenant_id == tenant_id, shipment.c.order_id.in_(order_ids))
        .order_by(shipment.c.order_id, shipment.c.id)
    )
    for row in rows.mappings().all():
        value = _shipment(row)
        found[value.order_id].append(value)
    return found
