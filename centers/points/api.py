"""The points center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.points import repository, service
from centers.points.dto import PointsEntryInfo

__all__ = ["PointsEntryInfo", "adjust_points", "balances"]


async def adjust_points(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    idempotency_key: str,
    member_id: uuid.UUID,
    delta: int,
    reason: str,
) -> PointsEntryInfo:
    """Earn or spend points, idempotent by key. Raises ``UserInputError``:
    ``INVALID_DELTA``, ``INVALID_REASON``, ``MEMBER_NOT_FOUND``, ``INSUFFICIENT_POINTS``,
    ``INVALID_IDEMPOTENCY_KEY``, ``IDEMPOTENCY_KEY_REUSED``."""
    return await service.adjust_points(
        session,
        tenant_id,
        idempotency_key=idempotency_key,
        member_id=member_id,
        delta=delta,
        reason=reason,
    )


async def balances(
    session: AsyncSession, tenant_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Balances of the tenant's members; a member without an account has none listed."""
    return await repository.balances(session, tenant_id, member_ids)
