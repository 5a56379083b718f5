"""The promotion center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.promotion import repository, service
from centers.promotion.dto import PromotionActivityInfo, PromotionKind, PromotionStatus

__all__ = [
    "PromotionActivityInfo",
    "PromotionKind",
    "PromotionStatus",
    "create_activity",
    "get_activities",
    "get_activity",
]


async def create_activity(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    kind: PromotionKind,
    starts_at: datetime,
    ends_at: datetime,
) -> PromotionActivityInfo:
    """Create a DRAFT activity; raises ``UserInputError`` (``INVALID_NAME``, ``INVALID_WINDOW``)."""
    return await service.create_activity(
        session, tenant_id, name=name, kind=kind, starts_at=starts_at, ends_at=ends_at
    )


async def get_activities(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, PromotionActivityInfo]:
    """The tenant's activities among ``ids``; ids of other tenants are simply absent."""
    return {a.id: a for a in await repository.activities_by_ids(session, tenant_id, ids)}


async def get_activity(
    session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID
) -> PromotionActivityInfo | None:
    """One activity of the tenant, or ``None`` (also for another tenant's activity)."""
    return (await get_activities(session, tenant_id, [activity_id])).get(activity_id)
