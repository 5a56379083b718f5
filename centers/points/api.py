"""The points center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.points import repository, service
from centers.points.dto import PointsEntryInfo

__all__ = ["PointsEntryInfo", "adjust_points", "get_balance", "get_balances"]


async def adjust_points(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    idempotency_key: str,
    member_id: uuid.UUID,
    delta: int,
    reason: str,
) -> PointsEntryInfo:
    """Earn (+) or spend (−) a member's points, idempotent by key: a replay returns the
    first entry. Raises ``UserInputError``: ``INVALID_DELTA``, ``INVALID_REASON``,
    ``MEMBER_NOT_FOUND``, ``INSUFFICIENT_POINTS``, ``BALANCE_LIMIT``,
    ``INVALID_IDEMPOTENCY_KEY``, ``IDEMPOTENCY_KEY_REUSED``."""
    return await service.adjust_points(
        session,
        tenant_id,
        idempotency_key=idempotency_key,
        member_id=member_id,
        delta=delta,
        reason=reason,
    )


async def get_balances(
    session: AsyncSession, tenant_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Points balance of each of the tenant's members among ``member_ids``; 0 for a
    member who never had points (and for ids of other tenants, whose rows stay hidden)."""
    found = await repository.balances(session, tenant_id, member_ids)
    return {member_id: found.get(member_id, 0) for member_id in member_ids}


async def get_balance(session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID) -> int:
    """One member's points balance (0 if none)."""
    return (await get_balances(session, tenant_id, [member_id]))[member_id]
