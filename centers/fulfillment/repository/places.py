"""Pickup points and dispatch decisions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.fulfillment.dto import PickupPointInfo
from centers.fulfillment.models import Dispatch, PickupPoint
from kernel.db import table_of
from kernel.graphql.pagination import PageRequest

pickup_point = table_of(PickupPoint)
dispatch = table_of(Dispatch)
_point_columns = (
    pickup_point.c.id,
    pickup_point.c.code,
    pickup_point.c.name,
    pickup_point.c.address,
    pickup_point.c.latitude_e6,
    pickup_point.c.longitude_e6,
    pickup_point.c.store_id,
    pickup_point.c.active,
)


async def insert_pickup_point(
    session: AsyncSession, tenant_id: uuid.UUID, value: PickupPointInfo
) -> bool:
    written = await session.scalar(
        insert(pickup_point)
        .values(
            tenant_id=tenant_id,
            id=value.id,
            code=value.code,
            name=value.name,
            address=value.address,
            latitude_e6=value.latitude_e6,
            longitude_e6=value.longitude_e6,
            store_id=value.store_id,
            active=value.active,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing()
        .returning(pickup_point.c.id)
    )
    return written is not None


async def pickup_points_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[PickupPointInfo]:
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_point_columns).where(
            pickup_point.c.tenant_id == tenant_id, pickup_point.c.id.in_(ids)
        )
    )
    return [PickupPointInfo(*row) for row in rows.all()]


async def list_pickup_points(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageRequest
) -> list[PickupPointInfo]:
    query = sa.select(*_point_columns).where(
        pickup_point.c.tenant_id == tenant_id, pickup_point.c.active.is_(True)
    )
    after = page.after_id()
    if after is not None:
        query = query.where(pickup_point.c.id > after)
    rows = await session.execute(query.order_by(pickup_point.c.id).limit(page.limit))
    return [PickupPointInfo(*row) for row in rows.all()]


async def save_dispatch(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, plan: dict[str, Any]
) -> None:
    """Record the order's plan; dispatching again replaces it (re-dispatch)."""
    statement = insert(dispatch).values(
        tenant_id=tenant_id, order_id=order_id, plan=plan, created_at=datetime.now(UTC)
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[dispatch.c.tenant_id, dispatch.c.order_id],
            set_={"plan": statement.excluded.plan, "created_at": statement.excluded.created_at},
        )
    )


async def dispatches_by_orders(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    if not order_ids:
        return {}
    rows = await session.execute(
        sa.select(dispatch.c.order_id, dispatch.c.plan).where(
            dispatch.c.tenant_id == tenant_id, dispatch.c.order_id.in_(order_ids)
        )
    )
    return {row.order_id: row.plan for row in rows.all()}
