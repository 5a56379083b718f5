"""Shipments (packages) and their lines."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.fulfillment.dto import (
    NewShipmentLine,
    RiderStatus,
    ShipmentInfo,
    ShipmentLineInfo,
    ShipmentStatus,
)
from centers.fulfillment.models import Shipment, ShipmentLine
from kernel.db import table_of

shipment = table_of(Shipment)
line = table_of(ShipmentLine)

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
    shipment.c.pickup_point_id,
    shipment.c.rider_status,
    shipment.c.rider_name,
    shipment.c.rider_phone,
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
        pickup_point_id=row["pickup_point_id"],
        rider_status=RiderStatus(row["rider_status"]) if row["rider_status"] else None,
        rider_name=row["rider_name"],
        rider_phone=row["rider_phone"],
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
            pickup_point_id=value.pickup_point_id,
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


async def shipment_stores(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID | None]:
    """The store each found shipment ships from (a ``StoreOf`` finder for the guard)."""
    if not ids:
        return {}
    rows = await session.execute(
        sa.select(shipment.c.id, shipment.c.store_id).where(
            shipment.c.tenant_id == tenant_id, shipment.c.id.in_(ids)
        )
    )
    return {row.id: row.store_id for row in rows.all()}


async def shipments_by_order_ids(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ShipmentInfo]]:
    """Each order id with its shipments, oldest first (``[]`` if none or another tenant's).

    Unpaged on purpose: an order splits into a handful of shipments at most.
    """
    found: dict[uuid.UUID, list[ShipmentInfo]] = {i: [] for i in order_ids}
    if not order_ids:
        return found
    # A shipment belongs to its own order and to every order whose lines it carries
    # (合单); a shipment merged into another is no longer listed.
    carried = (
        sa.select(line.c.order_id.label("of_order"), line.c.shipment_id)
        .where(line.c.tenant_id == tenant_id, line.c.order_id.in_(order_ids))
        .union(
            sa.select(shipment.c.order_id, shipment.c.id).where(
                shipment.c.tenant_id == tenant_id, shipment.c.order_id.in_(order_ids)
            )
        )
        .subquery()
    )
    rows = await session.execute(
        sa.select(carried.c.of_order, *_shipment_columns)
        .join(
            shipment,
            sa.and_(shipment.c.tenant_id == tenant_id, shipment.c.id == carried.c.shipment_id),
        )
        .where(shipment.c.status != ShipmentStatus.MERGED.value)
        .order_by(carried.c.of_order, shipment.c.id)
    )
    for row in rows.mappings().all():
        found[row["of_order"]].append(_shipment(row))
    return found


async def lock_shipments(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[ShipmentInfo]:
    """The shipments, locked in id order (so two merges never deadlock)."""
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_shipment_columns)
        .where(shipment.c.tenant_id == tenant_id, shipment.c.id.in_(ids))
        .order_by(shipment.c.id)
        .with_for_update()
    )
    return [_shipment(row) for row in rows.mappings().all()]


async def update_shipment(
    session: AsyncSession, tenant_id: uuid.UUID, shipment_id: uuid.UUID, **values: object
) -> ShipmentInfo:
    row = (
        (
            await session.execute(
                sa.update(shipment)
                .where(shipment.c.tenant_id == tenant_id, shipment.c.id == shipment_id)
                .values(**values, updated_at=sa.func.now())
                .returning(*_shipment_columns)
            )
        )
        .mappings()
        .one()
    )
    return _shipment(row)


async def lines_of(
    session: AsyncSession, tenant_id: uuid.UUID, shipment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ShipmentLineInfo]]:
    found: dict[uuid.UUID, list[ShipmentLineInfo]] = {i: [] for i in shipment_ids}
    if not shipment_ids:
        return found
    rows = await session.execute(
        sa.select(
            line.c.shipment_id, line.c.line_no, line.c.order_id, line.c.sku_id, line.c.quantity
        )
        .where(line.c.tenant_id == tenant_id, line.c.shipment_id.in_(shipment_ids))
        .order_by(line.c.shipment_id, line.c.line_no)
    )
    for row in rows.all():
        found[row.shipment_id].append(
            ShipmentLineInfo(row.line_no, row.order_id, row.sku_id, row.quantity)
        )
    return found


async def replace_lines(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    shipment_id: uuid.UUID,
    lines: Sequence[ShipmentLineInfo],
) -> None:
    await session.execute(
        sa.delete(line).where(line.c.tenant_id == tenant_id, line.c.shipment_id == shipment_id)
    )
    await insert_lines(session, tenant_id, shipment_id, lines)


async def insert_lines(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    shipment_id: uuid.UUID,
    lines: Sequence[ShipmentLineInfo],
) -> None:
    if not lines:
        return
    await session.execute(
        line.insert(),
        [
            {
                "tenant_id": tenant_id,
                "shipment_id": shipment_id,
                "line_no": item.line_no,
                "order_id": item.order_id,
                "sku_id": item.sku_id,
                "quantity": item.quantity,
            }
            for item in lines
        ],
    )


def numbered(order_id: uuid.UUID, lines: Sequence[NewShipmentLine]) -> list[ShipmentLineInfo]:
    return [
        ShipmentLineInfo(index + 1, item.order_id or order_id, item.sku_id, item.quantity)
        for index, item in enumerate(lines)
    ]
