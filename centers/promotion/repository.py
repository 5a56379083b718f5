"""Every query of the promotion center; tenant scoping lives here and only here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.promotion.dto import PromotionActivityInfo, PromotionKind, PromotionStatus
from centers.promotion.models import Activity, Coupon, CouponTemplate, MemberUsage, OrderPricing
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
    activity.c.external_id,
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
        external_id=row["external_id"],
    )


async def insert_activity(
    session: AsyncSession, value: PromotionActivityInfo, source_version: int | None = None
) -> None:
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
            external_id=value.external_id,
            source_version=source_version,
        )
    )


async def imported_activity_for_update(
    session: AsyncSession, tenant_id: uuid.UUID, external_id: str
) -> tuple[PromotionActivityInfo, int] | None:
    """The activity imported under ``external_id`` and its last applied source version,
    locked until the transaction ends (two pulls of one tenant apply one after another)."""
    row = (
        (
            await session.execute(
                sa.select(*_activity_columns, activity.c.source_version)
                .where(activity.c.tenant_id == tenant_id, activity.c.external_id == external_id)
                .with_for_update()
            )
        )
        .mappings()
        .first()
    )
    return (_activity(row), row["source_version"] or 0) if row else None


async def update_imported_activity(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    activity_id: uuid.UUID,
    *,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    source_version: int,
) -> None:
    await session.execute(
        activity.update()
        .where(activity.c.tenant_id == tenant_id, activity.c.id == activity_id)
        .values(name=name, starts_at=starts_at, ends_at=ends_at, source_version=source_version)
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


# --- Pricing rules ---------------------------------------------------------------------

coupon_template = table_of(CouponTemplate)
coupon = table_of(Coupon)
member_usage = table_of(MemberUsage)
order_pricing = table_of(OrderPricing)


@dataclass(frozen=True, slots=True)
class ActivityRow:
    info: PromotionActivityInfo
    rule: dict[str, Any]
    scope: dict[str, Any]
    priority: int
    exclusive: bool
    stack_group: str | None
    budget: int | None
    budget_used: int
    per_member_limit: int | None


_activity_rule_columns = (
    *_activity_columns,
    activity.c.rule,
    activity.c.scope,
    activity.c.priority,
    activity.c.exclusive,
    activity.c.stack_group,
    activity.c.budget,
    activity.c.budget_used,
    activity.c.per_member_limit,
)


def _activity_row(row: sa.RowMapping) -> ActivityRow:
    return ActivityRow(
        info=_activity(row),
        rule=dict(row["rule"] or {}),
        scope=dict(row["scope"] or {}),
        priority=row["priority"],
        exclusive=row["exclusive"],
        stack_group=row["stack_group"],
        budget=row["budget"],
        budget_used=row["budget_used"],
        per_member_limit=row["per_member_limit"],
    )


async def activity_rows_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[ActivityRow]:
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_activity_rule_columns).where(
            activity.c.tenant_id == tenant_id, activity.c.id.in_(ids)
        )
    )
    return [_activity_row(row) for row in rows.mappings().all()]


# An activity is live while ACTIVE and inside its window. A brand runs tens of
# activities at once, not thousands, so the live set is read whole; the cap is a guard.
MAX_LIVE_ACTIVITIES = 500


_AT = sa.bindparam("at", type_=activity.c.starts_at.type)
# Read by every priced cart: built once, its SQL compiled once.
_LIVE_ACTIVITIES = (
    sa.select(*_activity_rule_columns)
    .where(
        activity.c.tenant_id == sa.bindparam("tenant_id"),
        activity.c.status == "ACTIVE",
        activity.c.ends_at > _AT,
        activity.c.starts_at <= _AT,
    )
    .order_by(activity.c.priority.desc(), activity.c.id)
    .limit(MAX_LIVE_ACTIVITIES)
)


async def live_activities(
    session: AsyncSession, tenant_id: uuid.UUID, at: datetime
) -> list[ActivityRow]:
    rows = await session.execute(_LIVE_ACTIVITIES, {"tenant_id": tenant_id, "at": at})
    return [_activity_row(row) for row in rows.mappings().all()]


async def set_activity_rules(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    activity_id: uuid.UUID,
    *,
    rule: dict[str, Any],
    scope: dict[str, Any],
    priority: int,
    exclusive: bool,
    stack_group: str | None,
    budget: int | None,
    per_member_limit: int | None,
) -> None:
    await session.execute(
        activity.update()
        .where(activity.c.tenant_id == tenant_id, activity.c.id == activity_id)
        .values(
            rule=rule,
            scope=scope,
            priority=priority,
            exclusive=exclusive,
            stack_group=stack_group,
            budget=budget,
            per_member_limit=per_member_limit,
        )
    )


async def set_activity_status(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    activity_id: uuid.UUID,
    *,
    status: str,
    from_statuses: Sequence[str],
) -> bool:
    changed = await session.scalar(
        activity.update()
        .where(
            activity.c.tenant_id == tenant_id,
            activity.c.id == activity_id,
            activity.c.status.in_(list(from_statuses)),
        )
        .values(status=status)
        .returning(activity.c.id)
    )
    return changed is not None


async def consume_activity_budget(
    session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID, amount: int
) -> bool:
    """Take ``amount`` from the budget unless that would overrun it. The row lock the
    update takes queues concurrent orders, and each re-checks what the previous left."""
    changed = await session.scalar(
        activity.update()
        .where(
            activity.c.tenant_id == tenant_id,
            activity.c.id == activity_id,
            sa.or_(
                activity.c.budget.is_(None), activity.c.budget_used + amount <= activity.c.budget
            ),
        )
        .values(budget_used=activity.c.budget_used + amount)
        .returning(activity.c.id)
    )
    return changed is not None


async def return_activity_budget(
    session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID, amount: int
) -> None:
    await session.execute(
        activity.update()
        .where(activity.c.tenant_id == tenant_id, activity.c.id == activity_id)
        .values(budget_used=sa.func.greatest(activity.c.budget_used - amount, 0))
    )


# --- Per-member usage -----------------------------------------------------------------


async def member_uses(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    subject_ids: Sequence[uuid.UUID],
) -> dict[uuid.UUID, int]:
    if not subject_ids:
        return {}
    rows = await session.execute(
        sa.select(member_usage.c.subject_id, member_usage.c.used).where(
            member_usage.c.tenant_id == tenant_id,
            member_usage.c.member_id == member_id,
            member_usage.c.subject_id.in_(list(subject_ids)),
        )
    )
    return {row.subject_id: row.used for row in rows}


async def count_member_use(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    subject_id: uuid.UUID,
    member_id: uuid.UUID,
    limit: int,
) -> bool:
    """Count one more use unless the member reached ``limit``. Concurrent uses by one
    member queue on the counter row (the upsert locks it) and see each other's count."""
    statement = (
        insert(member_usage)
        .values(tenant_id=tenant_id, subject_id=subject_id, member_id=member_id, used=1)
        .on_conflict_do_update(
            index_elements=["tenant_id", "subject_id", "member_id"],
            set_={"used": member_usage.c.used + 1},
            where=member_usage.c.used < limit,
        )
        .returning(member_usage.c.used)
    )
    if limit < 1:
        return False
    return await session.scalar(statement) is not None


async def uncount_member_use(
    session: AsyncSession, tenant_id: uuid.UUID, subject_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    await session.execute(
        member_usage.update()
        .where(
            member_usage.c.tenant_id == tenant_id,
            member_usage.c.subject_id == subject_id,
            member_usage.c.member_id == member_id,
            member_usage.c.used > 0,
        )
        .values(used=member_usage.c.used - 1)
    )


# --- Coupons --------------------------------------------------------------------------

_template_columns = tuple(coupon_template.c)


async def insert_coupon_template(session: AsyncSession, values: dict[str, Any]) -> bool:
    written = await session.scalar(
        insert(coupon_template)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(coupon_template.c.id)
    )
    return written is not None


async def templates_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[sa.RowMapping]:
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_template_columns).where(
            coupon_template.c.tenant_id == tenant_id, coupon_template.c.id.in_(list(ids))
        )
    )
    return list(rows.mappings().all())


async def template_by_shared_code(
    session: AsyncSession, tenant_id: uuid.UUID, code: str
) -> sa.RowMapping | None:
    row = (
        (
            await session.execute(
                sa.select(*_template_columns).where(
                    coupon_template.c.tenant_id == tenant_id, coupon_template.c.shared_code == code
                )
            )
        )
        .mappings()
        .first()
    )
    return row


async def list_templates(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageRequest
) -> list[sa.RowMapping]:
    query = sa.select(*_template_columns).where(coupon_template.c.tenant_id == tenant_id)
    after = page.after_id()
    if after is not None:
        query = query.where(coupon_template.c.id < after)
    rows = await session.execute(query.order_by(coupon_template.c.id.desc()).limit(page.limit))
    return list(rows.mappings().all())


async def take_template_issue(
    session: AsyncSession, tenant_id: uuid.UUID, template_id: uuid.UUID
) -> bool:
    """Count one more issued coupon unless the total quantity is reached."""
    changed = await session.scalar(
        coupon_template.update()
        .where(
            coupon_template.c.tenant_id == tenant_id,
            coupon_template.c.id == template_id,
            sa.or_(
                coupon_template.c.total_quantity.is_(None),
                coupon_template.c.issued < coupon_template.c.total_quantity,
            ),
        )
        .values(issued=coupon_template.c.issued + 1)
        .returning(coupon_template.c.id)
    )
    return changed is not None


async def take_template_redemption(
    session: AsyncSession, tenant_id: uuid.UUID, template_id: uuid.UUID
) -> bool:
    """Count one more redemption of a shared code unless the total quantity is reached."""
    changed = await session.scalar(
        coupon_template.update()
        .where(
            coupon_template.c.tenant_id == tenant_id,
            coupon_template.c.id == template_id,
            sa.or_(
                coupon_template.c.total_quantity.is_(None),
                coupon_template.c.redeemed < coupon_template.c.total_quantity,
            ),
        )
        .values(redeemed=coupon_template.c.redeemed + 1)
        .returning(coupon_template.c.id)
    )
    return changed is not None


async def return_template_redemption(
    session: AsyncSession, tenant_id: uuid.UUID, template_id: uuid.UUID
) -> None:
    await session.execute(
        coupon_template.update()
        .where(
            coupon_template.c.tenant_id == tenant_id,
            coupon_template.c.id == template_id,
            coupon_template.c.redeemed > 0,
        )
        .values(redeemed=coupon_template.c.redeemed - 1)
    )


_coupon_columns = tuple(coupon.c)


async def insert_coupon(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(coupon.insert().values(**values))


async def coupon_by_code(
    session: AsyncSession, tenant_id: uuid.UUID, code: str
) -> sa.RowMapping | None:
    row = (
        (
            await session.execute(
                sa.select(*_coupon_columns).where(
                    coupon.c.tenant_id == tenant_id, coupon.c.code == code
                )
            )
        )
        .mappings()
        .first()
    )
    return row


async def coupons_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[sa.RowMapping]:
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_coupon_columns).where(
            coupon.c.tenant_id == tenant_id, coupon.c.id.in_(list(ids))
        )
    )
    return list(rows.mappings().all())


async def coupons_of_member(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID, page: PageRequest
) -> list[sa.RowMapping]:
    query = sa.select(*_coupon_columns).where(
        coupon.c.tenant_id == tenant_id, coupon.c.member_id == member_id
    )
    after = page.after_id()
    if after is not None:
        query = query.where(coupon.c.id < after)
    rows = await session.execute(query.order_by(coupon.c.id.desc()).limit(page.limit))
    return list(rows.mappings().all())


async def use_coupon(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    coupon_id: uuid.UUID,
    order_id: uuid.UUID,
    at: datetime,
) -> bool:
    """Mark the coupon used by ``order_id`` unless it is used already: exactly one of
    any number of concurrent orders wins it."""
    changed = await session.scalar(
        coupon.update()
        .where(
            coupon.c.tenant_id == tenant_id,
            coupon.c.id == coupon_id,
            coupon.c.status == "AVAILABLE",
        )
        .values(status="USED", order_id=order_id, used_at=at)
        .returning(coupon.c.id)
    )
    return changed is not None


async def return_coupon(
    session: AsyncSession, tenant_id: uuid.UUID, coupon_id: uuid.UUID, order_id: uuid.UUID
) -> None:
    await session.execute(
        coupon.update()
        .where(
            coupon.c.tenant_id == tenant_id,
            coupon.c.id == coupon_id,
            coupon.c.order_id == order_id,
        )
        .values(status="AVAILABLE", order_id=None, used_at=None)
    )


# --- Committed order pricing ----------------------------------------------------------


# Written for every order placed: built once, its SQL compiled once.
_INSERT_ORDER_PRICING = (
    insert(order_pricing)
    .values(
        {
            name: sa.bindparam(name, type_=order_pricing.c[name].type)
            for name in (
                "tenant_id",
                "order_id",
                "request_hash",
                "quote",
                "consumed",
                "status",
                "created_at",
            )
        }
    )
    .on_conflict_do_nothing()
    .returning(order_pricing.c.order_id)
)


async def insert_order_pricing(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    request_hash: str,
    at: datetime,
    *,
    quote: dict[str, Any],
    consumed: dict[str, Any],
) -> bool:
    """Write the order's committed pricing unless the order has one; returns whether
    this call wrote it. A concurrent commit of the same order waits here until the
    first transaction ends."""
    written = await session.scalar(
        _INSERT_ORDER_PRICING,
        {
            "tenant_id": tenant_id,
            "order_id": order_id,
            "request_hash": request_hash,
            "quote": quote,
            "consumed": consumed,
            "status": "COMMITTED",
            "created_at": at,
        },
    )
    return written is not None


async def claim_order_pricing(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    request_hash: str,
    at: datetime,
) -> bool:
    """Claim the order for a commit (empty quote, saved once consumed); a concurrent
    commit of the same order waits here until the first transaction ends. Returns
    whether this call claimed it."""
    return await insert_order_pricing(
        session, tenant_id, order_id, request_hash, at, quote={}, consumed={}
    )


async def order_pricing_row(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, *, lock: bool = False
) -> sa.RowMapping | None:
    query = sa.select(*order_pricing.c).where(
        order_pricing.c.tenant_id == tenant_id, order_pricing.c.order_id == order_id
    )
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).mappings().first()


async def save_order_pricing(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    *,
    quote: dict[str, Any],
    consumed: dict[str, Any],
) -> None:
    await session.execute(
        order_pricing.update()
        .where(order_pricing.c.tenant_id == tenant_id, order_pricing.c.order_id == order_id)
        .values(quote=quote, consumed=consumed)
    )


async def mark_order_pricing_released(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, at: datetime
) -> None:
    await session.execute(
        order_pricing.update()
        .where(order_pricing.c.tenant_id == tenant_id, order_pricing.c.order_id == order_id)
        .values(status="RELEASED", released_at=at)
    )
