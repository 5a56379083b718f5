"""Every query of the promotion center; tenant scoping lives here and only here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from centers.promotion.dto import PromotionActivityInfo, PromotionKind, PromotionStatus
from centers.promotion.models import Activity
from kernel.db import table_of
from kernel.graphql.pagination import PageRequest

activity = table_of(Activity)

_activity_columns = (
    activity.c.id,
    activity.c.tenant_id,
    activity.c.name,
    activity.c.kind,
    activity.c.status,
    activity.c.starts_at,
    activity.c.ends_at,
    activity.c.created_at,
)


def _activity(row: sa.RowMapping) -> PromotionActivityInfo:
    return PromotionActivityInfo(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        kind=PromotionKind(row["kind"]),
        status=PromotionStatus(row["status"]),
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        created_at=row["created_at"],
    )


async def insert_activity(session: AsyncSession, value: PromotionActivityInfo) -> None:
    await session.execute(
        activity.insert().values(
            tenant_id=value.tenant_id,
            id=value.id,
            name=value.name,
            kind=value.kind.value,
            status=value.status.value,
            starts_at=value.starts_at,
            ends_at=value.ends_at,
            created_at=value.created_at,
        )
    )


async def activities_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[PromotionActivityInfo]:
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_activity_columns).where(
            activity.c.tenant_id == tenant_id, activity.c.id.in_(ids)
        )
    )
    return [_activity(row) for row in rows.mappings().all()]


async def list_activities(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageRequest
) -> list[PromotionActivityInfo]:
    # Newest first: ids are UUIDv7, so descending id is descending creation time.
    query = sa.select(*_activity_columns).where(activity.c.tenant_id == tenant_id)
    after = page.after_id()
    if after is not None:
        query = query.where(activity.c.id < after)
    rows = await session.execute(query.order_by(activity.c.id.desc()).limit(page.limit))
    return [_activity(row) for row in rows.mappings().all()]
