"""Stock locations: stores registered for stock and dispatch, and warehouses."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.stock.dto import LocationInfo, LocationKind
from centers.stock.models import Location
from kernel.db import table_of
from kernel.graphql.pagination import PageRequest

location = table_of(Location)
_columns = (
    location.c.id,
    location.c.kind,
    location.c.code,
    location.c.name,
    location.c.priority,
    location.c.latitude_e6,
    location.c.longitude_e6,
    location.c.active,
)
# A tenant's locations: a few dozen stores and warehouses, hundreds at most. Dispatch
# reads them all; this bound keeps that read finite.
MAX_LOCATIONS = 1000


def _info(row: Any) -> LocationInfo:
    return LocationInfo(
        id=row.id,
        kind=LocationKind(row.kind),
        code=row.code,
        name=row.name,
        priority=row.priority,
        latitude_e6=row.latitude_e6,
        longitude_e6=row.longitude_e6,
        active=row.active,
    )


async def insert_location(session: AsyncSession, tenant_id: uuid.UUID, value: LocationInfo) -> bool:
    """Insert unless its id or code is taken; returns whether it was written."""
    written = await session.scalar(
        insert(location)
        .values(
            tenant_id=tenant_id,
            id=value.id,
            kind=value.kind.value,
            code=value.code,
            name=value.name,
            priority=value.priority,
            latitude_e6=value.latitude_e6,
            longitude_e6=value.longitude_e6,
            active=value.active,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing()
        .returning(location.c.id)
    )
    return written is not None


async def update_location(session: AsyncSession, tenant_id: uuid.UUID, value: LocationInfo) -> bool:
    written = await session.scalar(
        sa.update(location)
        .where(location.c.tenant_id == tenant_id, location.c.id == value.id)
        .values(
            name=value.name,
            priority=value.priority,
            latitude_e6=value.latitude_e6,
            longitude_e6=value.longitude_e6,
            active=value.active,
        )
        .returning(location.c.id)
    )
    return written is not None


async def locations_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[LocationInfo]:
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_columns).where(location.c.tenant_id == tenant_id, location.c.id.in_(ids))
    )
    return [_info(row) for row in rows.all()]


async def location_exists(
    session: AsyncSession, tenant_id: uuid.UUID, location_id: uuid.UUID
) -> bool:
    found = await session.scalar(
        sa.select(location.c.id).where(
            location.c.tenant_id == tenant_id, location.c.id == location_id
        )
    )
    return found is not None


async def list_locations(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    page: PageRequest | None = None,
    *,
    only: Collection[uuid.UUID] | None = None,
) -> list[LocationInfo]:
    """By id; the whole (bounded) list without a page; ``only`` those ids if given."""
    query = sa.select(*_columns).where(location.c.tenant_id == tenant_id)
    if only is not None:
        query = query.where(location.c.id.in_(list(only)))
    limit = MAX_LOCATIONS
    if page is not None:
        after = page.after_id()
        if after is not None:
            query = query.where(location.c.id > after)
        limit = page.limit
    rows = await session.execute(query.order_by(location.c.id).limit(limit))
    return [_info(row) for row in rows.all()]
