"""Every query of the points center; tenant scoping lives here and only here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.points.dto import PointsEntryInfo
from centers.points.models import PointsAccount, PointsEntry
from kernel.db import table_of
from kernel.graphql.pagination import PageRequest

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


async def ensure_account(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID, at: datetime
) -> None:
    await session.execute(
        insert(account)
        .values(tenant_id=tenant_id, member_id=member_id, balance=0, updated_at=at)
        .on_conflict_do_nothing()
    )


async def change_balance(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID, delta: int, at: datetime
) -> int | None:
    """Add ``delta`` unless the balance would go negative; the new balance, or ``None``.

    One conditional update: concurrent redemptions queue on the row and each sees the
    balance the previous one left, so the balance can never be overdrawn.
    """
    balance: int | None = await session.scalar(
        account.update()
        .where(
            account.c.tenant_id == tenant_id,
            account.c.member_id == member_id,
            account.c.balance + delta >= 0,
        )
        .values(balance=account.c.balance + delta, updated_at=at)
        .returning(account.c.balance)
    )
    return balance


async def insert_entry(session: AsyncSession, tenant_id: uuid.UUID, value: PointsEntryInfo) -> None:
    await session.execute(
        entry.insert().values(
            tenant_id=tenant_id,
            id=value.id,
            member_id=value.member_id,
            delta=value.delta,
            balance_after=value.balance_after,
            reason=value.reason,
            created_at=value.created_at,
        )
    )


async def entries_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[PointsEntryInfo]:
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_entry_columns).where(entry.c.tenant_id == tenant_id, entry.c.id.in_(ids))
    )
    return [PointsEntryInfo(*row) for row in rows.all()]


async def balances(
    session: AsyncSession, tenant_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not member_ids:
        return {}
    rows = await session.execute(
        sa.select(account.c.member_id, account.c.balance).where(
            account.c.tenant_id == tenant_id, account.c.member_id.in_(member_ids)
        )
    )
    return {row.member_id: row.balance for row in rows}


async def list_entries(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID, page: PageRequest
) -> list[PointsEntryInfo]:
    """Newest first (ids are time-ordered)."""
    query = sa.select(*_entry_columns).where(
        entry.c.tenant_id == tenant_id, entry.c.member_id == member_id
    )
    after = page.after_id()
    if after is not None:
        query = query.where(entry.c.id < after)
    rows = await session.execute(query.order_by(entry.c.id.desc()).limit(page.limit))
    return [PointsEntryInfo(*row) for row in rows.all()]
