"""Domain logic of the points center. Never commits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.member import api as member_api
from centers.points import repository
from centers.points.dto import PointsEntryInfo
from centers.points.events import PointsAdjusted
from kernel import idempotency
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.outbox import emit

# A typo guard for one manual adjustment, not a business rule.
MAX_ADJUSTMENT = 10_000_000


async def adjust_points(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    idempotency_key: str,
    member_id: uuid.UUID,
    delta: int,
    reason: str,
) -> PointsEntryInfo:
    """Earn (+) or spend (−) points; the balance never goes below zero."""
    if delta == 0 or abs(delta) > MAX_ADJUSTMENT:
        raise UserInputError(
            f"delta must be non-zero and at most {MAX_ADJUSTMENT}",
            code="INVALID_DELTA",
            field=["input", "delta"],
        )
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise UserInputError(
            "reason must be 1 to 200 characters", code="INVALID_REASON", field=["input", "reason"]
        )
    if await member_api.get_member(session, tenant_id, member_id) is None:
        raise UserInputError(
            "member not found", code="MEMBER_NOT_FOUND", field=["input", "memberId"]
        )
    entry_id = new_id()
    claim = await idempotency.claim(
        session,
        tenant_id,
        "points.adjust",
        idempotency_key,
        {"member": member_id, "delta": delta, "reason": reason},
        entry_id,
    )
    if claim.replayed:
        return (await repository.entries_by_ids(session, tenant_id, [claim.result_id]))[0]
    now = datetime.now(UTC)
    await repository.ensure_account(session, tenant_id, member_id, now)
    balance = await repository.change_balance(session, tenant_id, member_id, delta, now)
    if balance is None:
        raise UserInputError(
            "not enough points", code="INSUFFICIENT_POINTS", field=["input", "delta"]
        )
    value = PointsEntryInfo(
        id=entry_id,
        member_id=member_id,
        delta=delta,
        balance_after=balance,
        reason=reason,
        created_at=now,
    )
    await repository.insert_entry(session, tenant_id, value)
    await emit(
        session,
        tenant_id,
        PointsAdjusted(
            entry_id=entry_id,
            member_id=member_id,
            delta=delta,
            balance_after=balance,
            reason=reason,
        ),
    )
    return value
