"""Every query of the member center; tenant scoping lives here and only here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.member.dto import MemberInfo, MemberPricingProfile
from centers.member.models import LevelPrice, LevelRule, Member
from kernel.db import table_of
from kernel.graphql.pagination import PageRequest

member = table_of(Member)

_member_columns = (
    member.c.id,
    member.c.tenant_id,
    member.c.phone,
    member.c.display_name,
    member.c.level,
    member.c.created_at,
)
# Built once (see the store center); ``= ANY(array)`` keeps one prepared statement
# whatever the number of ids.
_MEMBERS_BY_IDS = sa.select(*_member_columns).where(
    member.c.tenant_id == sa.bindparam("tenant_id"),
    member.c.id == sa.any_(sa.bindparam("ids", type_=ARRAY(sa.Uuid))),
)


async def insert_member(session: AsyncSession, value: MemberInfo) -> bool:
    """Insert unless the phone is taken in the tenant; returns whether a row was written."""
    written = await session.scalar(
        insert(member)
        .values(
            tenant_id=value.tenant_id,
            id=value.id,
            phone=value.phone,
            display_name=value.display_name,
            level=value.level,
            created_at=value.created_at,
        )
        .on_conflict_do_nothing()
        .returning(member.c.id)
    )
    return written is not None


async def member_by_phone(
    session: AsyncSession, tenant_id: uuid.UUID, phone: str
) -> MemberInfo | None:
    row = (
        await session.execute(
            sa.select(*_member_columns).where(
                member.c.tenant_id == tenant_id, member.c.phone == phone
            )
        )
    ).first()
    return MemberInfo(*row) if row else None


async def members_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[MemberInfo]:
    if not ids:
        return []
    rows = await session.execute(_MEMBERS_BY_IDS, {"tenant_id": tenant_id, "ids": list(ids)})
    return [MemberInfo(*row) for row in rows.all()]


async def list_members(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageRequest
) -> list[MemberInfo]:
    """Newest first: ids are time-ordered, so a front desk sees today's sign-ups on top."""
    query = sa.select(*_member_columns).where(member.c.tenant_id == tenant_id)
    after = page.after_id()
    if after is not None:
        query = query.where(member.c.id < after)
    rows = await session.execute(query.order_by(member.c.id.desc()).limit(page.limit))
    return [MemberInfo(*row) for row in rows.all()]


# --- Levels and benefits ---------------------------------------------------------------

level_rule = table_of(LevelRule)
level_price = table_of(LevelPrice)


async def pricing_profile(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    sku_ids: Sequence[uuid.UUID],
) -> MemberPricingProfile | None:
    # The level is the highest one whose growth threshold the member reached.
    reached = (
        sa.select(level_rule)
        .where(
            level_rule.c.tenant_id == member.c.tenant_id,
            level_rule.c.growth_threshold <= member.c.growth,
        )
        .order_by(level_rule.c.level.desc())
        .limit(1)
        .lateral("reached")
    )
    row = (
        await session.execute(
            sa.select(
                member.c.id,
                member.c.level,
                member.c.blacklisted,
                reached.c.id.label("level_id"),
                reached.c.level.label("rule_level"),
                reached.c.name,
                reached.c.discount_bp,
                reached.c.combine,
            )
            .select_from(member.outerjoin(reached, sa.true()))
            .where(member.c.tenant_id == tenant_id, member.c.id == member_id)
        )
    ).first()
    if row is None:
        return None
    prices: dict[uuid.UUID, int] = {}
    if row.level_id is not None and sku_ids:
        found = await session.execute(
            sa.select(level_price.c.sku_id, level_price.c.price).where(
                level_price.c.tenant_id == tenant_id,
                level_price.c.level_id == row.level_id,
                level_price.c.sku_id.in_(list(sku_ids)),
            )
        )
        prices = {r.sku_id: r.price for r in found}
    return MemberPricingProfile(
        member_id=row.id,
        level=row.rule_level if row.level_id is not None else row.level,
        level_id=row.level_id,
        level_name=row.name if row.level_id is not None else f"Lv{row.level}",
        discount_bp=row.discount_bp if row.level_id is not None else 0,
        member_prices=prices,
        combine=row.combine if row.level_id is not None else "STACK",
        blacklisted=row.blacklisted,
    )
