"""Every query of the points center; tenant scoping lives here and only here.

A balance changes only through one conditional update that also appends the ledger
entry, so concurrent changes to one account queue on its row and each sees the balance
the previous one left: the balance can never be overdrawn, and the ledger always sums
to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.points.dto import PointsEntryInfo
from centers.points.models import PointsAccount, PointsEntry, PointsLot, PointsLotDraw, PointsRule
from kernel.db import table_of

account = table_of(PointsAccount)
entry = table_of(PointsEntry)

_entry_columns = (
    entry.c.id,
    entry.c.member_id,
    entry.c.delta,
    entry.c.balance_after,
    entry.c.reason,
    entry.c.created_at,
)
# Hot statements are built once (see the store center); ``= ANY(array)`` keeps one
# prepared statement whatever the number of ids.
_ENTRIES_BY_IDS = sa.select(*_entry_columns).where(
    entry.c.tenant_id == sa.bindparam("tenant_id"),
    entry.c.id == sa.any_(sa.bindparam("ids", type_=ARRAY(sa.Uuid))),
)
_BALANCES = sa.select(account.c.member_id, account.c.balance).where(
    account.c.tenant_id == sa.bindparam("tenant_id"),
    account.c.member_id == sa.any_(sa.bindparam("member_ids", type_=ARRAY(sa.Uuid))),
)

# The sum is taken in bigint so that a change past the int range is refused by the
# WHERE clause instead of failing the statement.
_ADJUST = sa.text(
    """
    WITH changed AS (
      UPDATE points.account SET balance = balance + CAST(:delta AS integer), updated_at = :at
      WHERE tenant_id = :tenant_id AND member_id = :member_id
        AND CAST(balance AS bigint) + CAST(:delta AS integer) BETWEEN 0 AND :max_balance
      RETURNING balance
    ), logged AS (
      INSERT INTO points.entry
        (tenant_id, id, member_id, delta, balance_after, reason, source_key, created_at)
      SELECT CAST(:tenant_id AS uuid), CAST(:entry_id AS uuid), CAST(:member_id AS uuid),
             CAST(:delta AS integer), balance, CAST(:reason AS text), CAST(:source_key AS text),
             CAST(:at AS timestamptz)
      FROM changed
    )
    SELECT balance FROM changed
    """
).bindparams(
    sa.bindparam("at", type_=sa.DateTime(timezone=True)),
    sa.bindparam("max_balance", type_=sa.BigInteger),
)

# The newest entries of several members in one round trip: one index range scan
# (tenant_id, member_id, id) per member, however long each ledger is.
_ENTRIES_OF_MEMBERS = """
    SELECT e.id, e.member_id, e.delta, e.balance_after, e.reason, e.created_at
    FROM unnest(CAST(:member_ids AS uuid[])) AS m(member_id)
    CROSS JOIN LATERAL (
      SELECT * FROM points.entry
      WHERE tenant_id = :tenant_id AND member_id = m.member_id {after}
      ORDER BY id DESC LIMIT :limit
    ) e
    ORDER BY e.member_id, e.id DESC
"""
_FIRST_ENTRIES = sa.text(_ENTRIES_OF_MEMBERS.format(after="")).bindparams(
    sa.bindparam("member_ids", type_=ARRAY(sa.Uuid))
)
_ENTRIES_AFTER = sa.text(_ENTRIES_OF_MEMBERS.format(after="AND id < :after")).bindparams(
    sa.bindparam("member_ids", type_=ARRAY(sa.Uuid))
)


async def ensure_account(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID, at: datetime
) -> None:
    await session.execute(
        insert(account)
        .values(tenant_id=tenant_id, member_id=member_id, balance=0, updated_at=at)
        .on_conflict_do_nothing()
    )


async def change_balance(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    delta: int,
    max_balance: int,
    entry_id: uuid.UUID,
    reason: str,
    source_key: str,
    at: datetime,
) -> int | None:
    """Add ``delta`` and append the entry, unless the balance would leave
    ``0..max_balance``; returns the new balance, or ``None`` when refused."""
    balance: int | None = await session.scalar(
        _ADJUST,
        {
            "tenant_id": tenant_id,
            "member_id": member_id,
            "delta": delta,
            "max_balance": max_balance,
            "entry_id": entry_id,
            "reason": reason,
            "source_key": source_key,
            "at": at,
        },
    )
    return balance


async def entries_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[PointsEntryInfo]:
    if not ids:
        return []
    rows = await session.execute(_ENTRIES_BY_IDS, {"tenant_id": tenant_id, "ids": list(ids)})
    return [PointsEntryInfo(*row) for row in rows.all()]


async def balances(
    session: AsyncSession, tenant_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Balances of the members that have an account; the others are absent."""
    if not member_ids:
        return {}
    rows = await session.execute(
        _BALANCES, {"tenant_id": tenant_id, "member_ids": list(member_ids)}
    )
    return {row.member_id: row.balance for row in rows}


async def entries_of_members(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    member_ids: Sequence[uuid.UUID],
    *,
    limit: int,
    after: uuid.UUID | None,
) -> list[PointsEntryInfo]:
    """Up to ``limit`` entries of each member, newest first (ids are time-ordered),
    older than the entry ``after`` when given."""
    if not member_ids:
        return []
    params = {"tenant_id": tenant_id, "member_ids": list(member_ids), "limit": limit}
    if after is None:
        rows = await session.execute(_FIRST_ENTRIES, params)
    else:
        rows = await session.execute(_ENTRIES_AFTER, {**params, "after": after})
    return [PointsEntryInfo(*row) for row in rows.all()]


# --- Rules, lots and sources -----------------------------------------------------------

rule = table_of(PointsRule)
lot = table_of(PointsLot)
lot_draw = table_of(PointsLotDraw)


async def rule_of(session: AsyncSession, tenant_id: uuid.UUID) -> sa.RowMapping | None:
    return (
        (await session.execute(sa.select(*rule.c).where(rule.c.tenant_id == tenant_id)))
        .mappings()
        .first()
    )


async def save_rule(session: AsyncSession, values: dict[str, object]) -> None:
    statement = insert(rule).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id"],
            set_={k: statement.excluded[k] for k in values if k != "tenant_id"},
        )
    )


async def entry_by_source(
    session: AsyncSession, tenant_id: uuid.UUID, source_key: str
) -> PointsEntryInfo | None:
    row = (
        await session.execute(
            sa.select(*_entry_columns).where(
                entry.c.tenant_id == tenant_id, entry.c.source_key == source_key
            )
        )
    ).first()
    return PointsEntryInfo(*row) if row else None


async def add_lot(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    entry_id: uuid.UUID,
    member_id: uuid.UUID,
    points: int,
    expires_at: datetime | None,
) -> None:
    await session.execute(
        lot.insert().values(
            tenant_id=tenant_id,
            entry_id=entry_id,
            member_id=member_id,
            remaining=points,
            expires_at=expires_at,
        )
    )


async def draw_lots(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    entry_id: uuid.UUID,
    points: int,
) -> None:
    """Take ``points`` from the member's lots, the one expiring first first, and record
    the draws. Called right after the balance update, whose row lock serializes every
    change to this member's points, so the lots read here are not moving."""
    rows = await session.execute(
        sa.select(lot.c.entry_id, lot.c.remaining)
        .where(lot.c.tenant_id == tenant_id, lot.c.member_id == member_id, lot.c.remaining > 0)
        .order_by(lot.c.expires_at.asc().nulls_last(), lot.c.entry_id)
    )
    left = points
    for lot_entry_id, remaining in rows.all():
        if left <= 0:
            break
        take = min(left, remaining)
        left -= take
        await session.execute(
            lot.update()
            .where(lot.c.tenant_id == tenant_id, lot.c.entry_id == lot_entry_id)
            .values(remaining=lot.c.remaining - take)
        )
        await session.execute(
            lot_draw.insert().values(
                tenant_id=tenant_id, entry_id=entry_id, lot_entry_id=lot_entry_id, points=take
            )
        )
    if left > 0:  # the balance allowed it, so the lots must: they sum to the balance
        raise RuntimeError("points lots do not cover the balance")


async def refill_lots(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    spending_entry_id: uuid.UUID,
    points: int | None,
) -> int:
    """Give back to the lots what the spending entry drew and has not been given back
    yet: all of it, or at most ``points`` (latest-expiring lots first, the kinder order
    for the member). Returns the points given back."""
    draws = (
        await session.execute(
            sa.select(lot_draw.c.lot_entry_id, lot_draw.c.points)
            .join(
                lot,
                sa.and_(
                    lot.c.tenant_id == lot_draw.c.tenant_id,
                    lot.c.entry_id == lot_draw.c.lot_entry_id,
                ),
            )
            .where(
                lot_draw.c.tenant_id == tenant_id,
                lot_draw.c.entry_id == spending_entry_id,
                lot_draw.c.points > 0,
            )
            .order_by(lot.c.expires_at.desc().nulls_first(), lot_draw.c.lot_entry_id)
        )
    ).all()
    left = sum(p for _, p in draws) if points is None else points
    back = 0
    for lot_entry_id, drawn in draws:
        take = min(drawn, left - back)
        if take <= 0:
            break
        back += take
        await session.execute(
            lot.update()
            .where(lot.c.tenant_id == tenant_id, lot.c.entry_id == lot_entry_id)
            .values(remaining=lot.c.remaining + take)
        )
        await session.execute(
            lot_draw.update()
            .where(
                lot_draw.c.tenant_id == tenant_id,
                lot_draw.c.entry_id == spending_entry_id,
                lot_draw.c.lot_entry_id == lot_entry_id,
            )
            .values(points=lot_draw.c.points - take)
        )
    return back


async def expired_lots(
    session: AsyncSession, tenant_id: uuid.UUID, now: datetime, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(lot entry id, member id) of lots past their expiry that still hold points."""
    rows = await session.execute(
        sa.select(lot.c.entry_id, lot.c.member_id)
        .where(lot.c.tenant_id == tenant_id, lot.c.expires_at <= now, lot.c.remaining > 0)
        .order_by(lot.c.expires_at, lot.c.entry_id)
        .limit(limit)
    )
    return [(r.entry_id, r.member_id) for r in rows]


async def empty_lot(session: AsyncSession, tenant_id: uuid.UUID, lot_entry_id: uuid.UUID) -> None:
    await session.execute(
        lot.update()
        .where(lot.c.tenant_id == tenant_id, lot.c.entry_id == lot_entry_id)
        .values(remaining=0)
    )


async def lock_account(session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID) -> None:
    """Take the account's row lock: every change to a member's points takes it first."""
    await session.execute(
        sa.select(account.c.member_id)
        .where(account.c.tenant_id == tenant_id, account.c.member_id == member_id)
        .with_for_update()
    )


async def lot_remaining(
    session: AsyncSession, tenant_id: uuid.UUID, lot_entry_id: uuid.UUID
) -> int:
    found: int | None = await session.scalar(
        sa.select(lot.c.remaining).where(
            lot.c.tenant_id == tenant_id, lot.c.entry_id == lot_entry_id
        )
    )
    return found or 0


async def expired_lots_of_member(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID, now: datetime
) -> list[tuple[uuid.UUID, int]]:
    rows = await session.execute(
        sa.select(lot.c.entry_id, lot.c.remaining).where(
            lot.c.tenant_id == tenant_id,
            lot.c.member_id == member_id,
            lot.c.expires_at <= now,
            lot.c.remaining > 0,
        )
    )
    return [(r.entry_id, r.remaining) for r in rows]
