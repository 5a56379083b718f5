"""Moving points: every credit makes a lot, every debit draws lots, expiry empties them.

Invariants (tested): the entries of a member sum to the balance; the lots' remaining
points sum to the balance; the balance is never negative. Every change to one member's
points first takes the account's row lock (the balance update), then touches lots, so
concurrent changes queue instead of deadlocking.

Each change carries a ``source_key`` unique per tenant (``order-redeem:<order>``,
``order-earn:<order>``…): replaying a source returns the first entry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from centers.points import repository
from centers.points.dto import PointsEntryInfo
from centers.points.events import PointsAdjusted
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.outbox import emit

MAX_BALANCE = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Change:
    entry: PointsEntryInfo
    replayed: bool


async def _append(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    delta: int,
    reason: str,
    source_key: str,
    at: datetime,
    entry_id: uuid.UUID | None = None,
) -> PointsEntryInfo | None:
    entry_id = entry_id or new_id()
    await repository.ensure_account(session, tenant_id, member_id, at)
    balance = await repository.change_balance(
        session,
        tenant_id,
        member_id=member_id,
        delta=delta,
        max_balance=MAX_BALANCE,
        entry_id=entry_id,
        reason=reason,
        source_key=source_key,
        at=at,
    )
    if balance is None:
        return None
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
    return PointsEntryInfo(
        id=entry_id,
        member_id=member_id,
        delta=delta,
        balance_after=balance,
        reason=reason,
        created_at=at,
    )


async def credit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    points: int,
    reason: str,
    source_key: str,
    expires_at: datetime | None,
    entry_id: uuid.UUID | None = None,
) -> Change:
    """Add points as a new lot expiring at ``expires_at``; ``BALANCE_LIMIT`` if too many."""
    first = await repository.entry_by_source(session, tenant_id, source_key)
    if first is not None:
        return Change(first, replayed=True)
    now = datetime.now(UTC)
    added = await _append(
        session,
        tenant_id,
        member_id=member_id,
        delta=points,
        reason=reason,
        source_key=source_key,
        at=now,
        entry_id=entry_id,
    )
    if added is None:
        raise UserInputError(
            f"the balance cannot exceed {MAX_BALANCE} points", code="BALANCE_LIMIT"
        )
    await repository.add_lot(
        session,
        tenant_id,
        entry_id=added.id,
        member_id=member_id,
        points=points,
        expires_at=expires_at,
    )
    return Change(added, replayed=False)


async def debit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    points: int,
    reason: str,
    source_key: str,
    entry_id: uuid.UUID | None = None,
) -> Change:
    """Take points, from the lots expiring first; ``INSUFFICIENT_POINTS`` if short.
    Points past their expiry are expired first, so they are never spent."""
    first = await repository.entry_by_source(session, tenant_id, source_key)
    if first is not None:
        return Change(first, replayed=True)
    now = datetime.now(UTC)
    await repository.ensure_account(session, tenant_id, member_id, now)
    await repository.lock_account(session, tenant_id, member_id)
    await _expire_member(session, tenant_id, member_id, now)
    taken = await _append(
        session,
        tenant_id,
        member_id=member_id,
        delta=-points,
        reason=reason,
        source_key=source_key,
        at=now,
        entry_id=entry_id,
    )
    if taken is None:
        raise UserInputError("not enough points", code="INSUFFICIENT_POINTS")
    await repository.draw_lots(
        session, tenant_id, member_id=member_id, entry_id=taken.id, points=points
    )
    return Change(taken, replayed=False)


async def _expire_lot(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    lot_entry_id: uuid.UUID,
    now: datetime,
) -> int:
    # The account lock is held (taken by the caller): the lot cannot move under us.
    remaining = await repository.lot_remaining(session, tenant_id, lot_entry_id)
    if remaining <= 0:
        return 0
    expired = await _append(
        session,
        tenant_id,
        member_id=member_id,
        delta=-remaining,
        reason="points expired",
        # A lot can expire more than once: points given back to an expired lot (an
        # order cancelled late) expire again. Running the sweep twice still expires once:
        # the lot is empty after the first, under the account's lock.
        source_key=f"expire:{lot_entry_id}:{new_id()}",
        at=now,
    )
    if expired is None:  # pragma: no cover - lots always sum to the balance
        raise RuntimeError("points lots do not cover the balance")
    await repository.empty_lot(session, tenant_id, lot_entry_id)
    return remaining


async def _expire_member(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID, now: datetime
) -> int:
    total = 0
    for lot_entry_id, _ in await repository.expired_lots_of_member(
        session, tenant_id, member_id, now
    ):
        total += await _expire_lot(session, tenant_id, member_id, lot_entry_id, now)
    return total


async def expire_due(
    session: AsyncSession, tenant_id: uuid.UUID, now: datetime, *, limit: int = 500
) -> int:
    """Expire up to ``limit`` lots past their expiry; returns the points expired.
    Each becomes a ledger entry (``expire:<lot>:<id>``) and empties the lot, so running
    it twice expires once."""
    total = 0
    for lot_entry_id, member_id in await repository.expired_lots(session, tenant_id, now, limit):
        await repository.lock_account(session, tenant_id, member_id)
        total += await _expire_lot(session, tenant_id, member_id, lot_entry_id, now)
    return total


async def refill(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    spending: PointsEntryInfo,
    reason: str,
    source_key: str,
    points: int | None = None,
) -> Change | None:
    """Give back what the entry ``spending`` took, to the very lots it drew from
    (whole, or ``points`` of it, most recently expiring lots last to be refilled)."""
    first = await repository.entry_by_source(session, tenant_id, source_key)
    if first is not None:
        return Change(first, replayed=True)
    now = datetime.now(UTC)
    await repository.lock_account(session, tenant_id, spending.member_id)
    back = await repository.refill_lots(session, tenant_id, spending.id, points)
    if back <= 0:
        return None
    added = await _append(
        session,
        tenant_id,
        member_id=spending.member_id,
        delta=back,
        reason=reason,
        source_key=source_key,
        at=now,
    )
    if added is None:
        raise UserInputError(
            f"the balance cannot exceed {MAX_BALANCE} points", code="BALANCE_LIMIT"
        )
    return Change(added, replayed=False)


def expiry_for(days: int | None, at: datetime) -> datetime | None:
    return at + timedelta(days=days) if days else None
