"""Domain logic of the points center. Never commits; raises ``UserInputError`` on bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.member import api as member_api
from centers.points import ledger, repository
from centers.points.dto import PointsEntryInfo
from kernel import idempotency
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.text import required_text

# One adjustment moves at most this many points: a typo guard, not a business rule.
MAX_ADJUSTMENT = 10_000_000
# GraphQL's Int is 32-bit: a larger balance could not be shown to anyone.
MAX_BALANCE = 2**31 - 1
MAX_REASON_LENGTH = 200


async def adjust_points(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    idempotency_key: str,
    member_id: uuid.UUID,
    delta: int,
    reason: str,
) -> PointsEntryInfo:
    """Earn (+) or spend (−) points; the balance never goes below zero.

    A replay of ``idempotency_key`` returns the first entry, with the balance it left.
    """
    if delta == 0 or abs(delta) > MAX_ADJUSTMENT:
        raise UserInputError(
            f"delta must be non-zero and at most {MAX_ADJUSTMENT} points either way",
            code="INVALID_DELTA",
            field=["input", "delta"],
        )
    reason = required_text(
        reason,
        label="reason",
        max_length=MAX_REASON_LENGTH,
        code="INVALID_REASON",
        field=["input", "reason"],
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
    # Namespaced by origin, so later sources (an order's earn or redeem) can never
    # collide with a manual adjustment's key.
    source_key = f"adjust:{idempotency_key}"
    try:
        if delta > 0:
            rules = await repository.rule_of(session, tenant_id)
            change = await ledger.credit(
                session,
                tenant_id,
                member_id=member_id,
                points=delta,
                reason=reason,
                source_key=source_key,
                expires_at=ledger.expiry_for(
                    rules["expiry_days"] if rules else None, datetime.now(UTC)
                ),
                entry_id=entry_id,
            )
        else:
            change = await ledger.debit(
                session,
                tenant_id,
                member_id=member_id,
                points=-delta,
                reason=reason,
                source_key=source_key,
                entry_id=entry_id,
            )
    except UserInputError as error:
        raise UserInputError(error.message, code=error.code, field=["input", "delta"]) from None
    return change.entry
