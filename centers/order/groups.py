"""Group buys (拼团): an order opens a group or joins one; ``size`` paid orders within the
group's window complete it; a window that ends short fails it, and every member order is
cancelled (unpaid) or refunded in full (paid) by durable jobs.

Locks: joining locks the group row (joiners queue there, so a group never has more
than ``size`` live members). Paying locks the order, then updates the group row. The
expiry job only updates the group row and then schedules one job per member order, so
it never holds a group while waiting for an order (no lock cycle with payments).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from centers.order.models import BuyGroup, BuyGroupMember, TradeOrder
from centers.promotion import api as promotion_api
from kernel.db import table_of
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.jobs import schedule_job

JOB_GROUP_EXPIRE = "order.group_expire"
JOB_GROUP_MEMBER_FAILED = "order.group_member_failed"

buy_group = table_of(BuyGroup)
buy_group_member = table_of(BuyGroupMember)
trade_order = table_of(TradeOrder)

FIELD = ["input", "groupBuy"]


@dataclass(frozen=True, slots=True)
class GroupInfo:
    id: uuid.UUID
    activity_id: uuid.UUID
    size: int
    paid: int
    members: int  # live member orders (not cancelled)
    status: str  # OPEN, COMPLETED, FAILED
    expires_at: datetime


async def join(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    activity_id: uuid.UUID,
    group_id: uuid.UUID | None,
    now: datetime,
) -> uuid.UUID:
    """Open a group of the GROUP_BUY activity (``group_id`` None) or join one; returns
    the group id. Raises ``UserInputError``: ``GROUP_BUY_NOT_FOUND``,
    ``GROUP_BUY_NOT_ACTIVE``, ``GROUP_NOT_FOUND``, ``GROUP_CLOSED``, ``GROUP_FULL``."""
    terms = await promotion_api.group_buy_terms(session, tenant_id, activity_id, now)
    if terms is None:
        raise UserInputError(
            "no such group-buy activity", code="GROUP_BUY_NOT_FOUND", field=[*FIELD, "activityId"]
        )
    if not terms.active:
        raise UserInputError(
            "the group-buy activity is not running",
            code="GROUP_BUY_NOT_ACTIVE",
            field=[*FIELD, "activityId"],
        )
    if group_id is None:
        group_id = new_id()
        expires_at = min(now + timedelta(minutes=terms.group_minutes), terms.ends_at)
        await session.execute(
            buy_group.insert().values(
                tenant_id=tenant_id,
                id=group_id,
                activity_id=activity_id,
                size=terms.group_size,
                paid=0,
                status="OPEN",
                expires_at=expires_at,
                created_at=now,
            )
        )
        await schedule_job(
            session,
            tenant_id,
            JOB_GROUP_EXPIRE,
            str(group_id),
            expires_at,
            {"group_id": str(group_id)},
        )
    else:
        row = (
            await session.execute(
                sa.select(buy_group)
                .where(buy_group.c.tenant_id == tenant_id, buy_group.c.id == group_id)
                .with_for_update()
            )
        ).first()
        if row is None or row.activity_id != activity_id:
            raise UserInputError("no such group", code="GROUP_NOT_FOUND", field=[*FIELD, "groupId"])
        if row.status != "OPEN" or row.expires_at <= now:
            raise UserInputError(
                "the group is closed", code="GROUP_CLOSED", field=[*FIELD, "groupId"]
            )
        if await _live_members(session, tenant_id, group_id) >= row.size:
            raise UserInputError(
                f"the group has its {row.size} members",
                code="GROUP_FULL",
                field=[*FIELD, "groupId"],
            )
    await session.execute(
        buy_group_member.insert().values(
            tenant_id=tenant_id, group_id=group_id, order_id=order_id, paid=False, joined_at=now
        )
    )
    return group_id


async def _live_members(session: AsyncSession, tenant_id: uuid.UUID, group_id: uuid.UUID) -> int:
    # A member whose order was cancelled (unpaid timeout, buyer) frees its place.
    count = await session.scalar(
        sa.select(sa.func.count())
        .select_from(
            buy_group_member.join(
                trade_order,
                sa.and_(
                    trade_order.c.tenant_id == buy_group_member.c.tenant_id,
                    trade_order.c.id == buy_group_member.c.order_id,
                ),
            )
        )
        .where(
            buy_group_member.c.tenant_id == tenant_id,
            buy_group_member.c.group_id == group_id,
            trade_order.c.status != "CANCELLED",
        )
    )
    return int(count or 0)


async def group_of_order(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> GroupInfo | None:
    """The group the order joined, or ``None``."""
    row = (
        await session.execute(
            sa.select(buy_group)
            .join(
                buy_group_member,
                sa.and_(
                    buy_group_member.c.tenant_id == buy_group.c.tenant_id,
                    buy_group_member.c.group_id == buy_group.c.id,
                ),
            )
            .where(
                buy_group_member.c.tenant_id == tenant_id,
                buy_group_member.c.order_id == order_id,
            )
        )
    ).first()
    if row is None:
        return None
    return GroupInfo(
        id=row.id,
        activity_id=row.activity_id,
        size=row.size,
        paid=row.paid,
        members=await _live_members(session, tenant_id, row.id),
        status=row.status,
        expires_at=row.expires_at,
    )


async def on_paid(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, now: datetime
) -> None:
    """A member order was paid (its row is locked): count it; the ``size``-th completes
    the group. A group that failed, or whose window is over, refuses the payment
    (``GROUP_BUY_FAILED``; the payment center then gives the money back)."""
    member = (
        await session.execute(
            buy_group_member.update()
            .where(
                buy_group_member.c.tenant_id == tenant_id,
                buy_group_member.c.order_id == order_id,
                buy_group_member.c.paid.is_(False),
            )
            .values(paid=True)
            .returning(buy_group_member.c.group_id)
        )
    ).first()
    if member is None:
        return  # not a group order (or counted already)
    done = sa.case((buy_group.c.paid + 1 >= buy_group.c.size, True), else_=False)
    counted = (
        await session.execute(
            buy_group.update()
            .where(
                buy_group.c.tenant_id == tenant_id,
                buy_group.c.id == member.group_id,
                buy_group.c.status == "OPEN",
                # Past its window a group only waits for its expiry job to fail it.
                buy_group.c.expires_at > now,
            )
            .values(
                paid=buy_group.c.paid + 1,
                status=sa.case((done, "COMPLETED"), else_=buy_group.c.status),
                closed_at=sa.case((done, now), else_=buy_group.c.closed_at),
            )
            .returning(buy_group.c.id)
        )
    ).first()
    if counted is None:
        raise UserInputError(
            "the group buy failed: its window ended short",
            code="GROUP_BUY_FAILED",
            field=["input", "orderId"],
        )


async def expire(
    session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any], now: datetime
) -> None:
    """The group's window ended: an unfilled group fails and each member order gets a
    job of its own to be cancelled or refunded. A completed group is left alone."""
    group_id = uuid.UUID(str(payload["group_id"]))
    failed = (
        await session.execute(
            buy_group.update()
            .where(
                buy_group.c.tenant_id == tenant_id,
                buy_group.c.id == group_id,
                buy_group.c.status == "OPEN",
            )
            .values(status="FAILED", closed_at=now)
            .returning(buy_group.c.id)
        )
    ).first()
    if failed is None:
        return
    members = await session.scalars(
        sa.select(buy_group_member.c.order_id).where(
            buy_group_member.c.tenant_id == tenant_id, buy_group_member.c.group_id == group_id
        )
    )
    for order_id in members.all():
        await schedule_job(
            session,
            tenant_id,
            JOB_GROUP_MEMBER_FAILED,
            f"{group_id}:{order_id}",
            now,
            {"group_id": str(group_id), "order_id": str(order_id)},
        )


async def order_ids_of(
    session: AsyncSession, tenant_id: uuid.UUID, group_id: uuid.UUID
) -> list[uuid.UUID]:
    """The group's member orders, in the order they joined."""
    rows = await session.scalars(
        sa.select(buy_group_member.c.order_id)
        .where(buy_group_member.c.tenant_id == tenant_id, buy_group_member.c.group_id == group_id)
        .order_by(buy_group_member.c.joined_at, buy_group_member.c.order_id)
    )
    return list(rows.all())
