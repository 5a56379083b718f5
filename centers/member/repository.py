"""Every query of the member center; tenant scoping lives here and only here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.member.dto import AddressInfo, LevelRuleInfo, MemberInfo, MemberPricingProfile
from centers.member.models import (
    Address,
    GrowthEntry,
    Identity,
    LevelPrice,
    LevelRule,
    Member,
    SyncVersion,
    Tag,
)
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
    member.c.growth,
    member.c.blacklisted,
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


async def save_level_rule(
    session: AsyncSession, tenant_id: uuid.UUID, value: LevelRuleInfo, at: datetime
) -> LevelRuleInfo:
    statement = insert(level_rule).values(
        tenant_id=tenant_id,
        id=value.id,
        level=value.level,
        name=value.name,
        growth_threshold=value.growth_threshold,
        discount_bp=value.discount_bp,
        combine=value.combine,
        created_at=at,
    )
    row = (
        await session.execute(
            statement.on_conflict_do_update(
                constraint="level_rule_level_key",
                set_={
                    "name": statement.excluded.name,
                    "growth_threshold": statement.excluded.growth_threshold,
                    "discount_bp": statement.excluded.discount_bp,
                    "combine": statement.excluded.combine,
                },
            ).returning(*_level_columns)
        )
    ).one()
    return LevelRuleInfo(*row)


_level_columns = (
    level_rule.c.id,
    level_rule.c.level,
    level_rule.c.name,
    level_rule.c.growth_threshold,
    level_rule.c.discount_bp,
    level_rule.c.combine,
)
# A brand defines a handful of levels; the cap is a guard, not a page.
MAX_LEVELS = 50


async def level_rules(session: AsyncSession, tenant_id: uuid.UUID) -> list[LevelRuleInfo]:
    rows = await session.execute(
        sa.select(*_level_columns)
        .where(level_rule.c.tenant_id == tenant_id)
        .order_by(level_rule.c.level)
        .limit(MAX_LEVELS)
    )
    return [LevelRuleInfo(*row) for row in rows.all()]


async def level_rule_by_level(
    session: AsyncSession, tenant_id: uuid.UUID, level: int
) -> LevelRuleInfo | None:
    row = (
        await session.execute(
            sa.select(*_level_columns).where(
                level_rule.c.tenant_id == tenant_id, level_rule.c.level == level
            )
        )
    ).first()
    return LevelRuleInfo(*row) if row else None


# The level a growth value reaches: the highest whose threshold it meets, else 1.
_REACHED_LEVEL = sa.func.coalesce(
    sa.select(sa.func.max(level_rule.c.level))
    .where(
        level_rule.c.tenant_id == member.c.tenant_id,
        level_rule.c.growth_threshold <= member.c.growth,
    )
    .scalar_subquery(),
    1,
)


async def recompute_levels(
    session: AsyncSession, tenant_id: uuid.UUID
) -> list[tuple[uuid.UUID, GrowthChange]]:
    """Move every member of the tenant to the level its growth reaches now; returns the
    members whose level moved (the level before comes from the statement's snapshot)."""
    before = member.alias("before")
    rows = await session.execute(
        member.update()
        .where(
            member.c.tenant_id == tenant_id,
            member.c.level != _REACHED_LEVEL,
            before.c.tenant_id == member.c.tenant_id,
            before.c.id == member.c.id,
        )
        .values(level=_REACHED_LEVEL)
        .returning(member.c.id, before.c.level, member.c.level, member.c.growth)
    )
    return [(row[0], GrowthChange(row[1], row[2], row[3])) for row in rows.all()]


async def set_level_price(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    level_id: uuid.UUID,
    sku_id: uuid.UUID,
    price: int | None,
) -> None:
    if price is None:
        await session.execute(
            level_price.delete().where(
                level_price.c.tenant_id == tenant_id,
                level_price.c.level_id == level_id,
                level_price.c.sku_id == sku_id,
            )
        )
        return
    statement = insert(level_price).values(
        tenant_id=tenant_id, level_id=level_id, sku_id=sku_id, price=price
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "level_id", "sku_id"],
            set_={"price": statement.excluded.price},
        )
    )


async def add_growth(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    delta: int,
    source_key: str,
    at: datetime,
) -> GrowthChange | None:
    """Add growth once per ``source_key`` and move the member to the level it reaches;
    ``None`` when that source was already counted (or the member is unknown)."""
    written = await session.scalar(
        insert(growth_entry)
        .values(
            tenant_id=tenant_id,
            source_key=source_key,
            member_id=member_id,
            delta=delta,
            created_at=at,
        )
        .on_conflict_do_nothing()
        .returning(growth_entry.c.source_key)
    )
    if written is None:
        return None
    before = await session.scalar(
        sa.select(member.c.level)
        .where(member.c.tenant_id == tenant_id, member.c.id == member_id)
        .with_for_update()
    )
    await session.execute(
        member.update()
        .where(member.c.tenant_id == tenant_id, member.c.id == member_id)
        .values(growth=sa.func.greatest(member.c.growth + delta, 0))
    )
    after = (
        await session.execute(
            member.update()
            .where(member.c.tenant_id == tenant_id, member.c.id == member_id)
            .values(level=_REACHED_LEVEL)
            .returning(member.c.level, member.c.growth)
        )
    ).first()
    if before is None or after is None:
        return None
    return GrowthChange(before, after.level, after.growth)


@dataclass(frozen=True, slots=True)
class GrowthChange:
    level_before: int
    level_after: int
    growth: int


# --- Sync from other systems (CRM) --------------------------------------------------------

sync_version = table_of(SyncVersion)


async def claim_sync_version(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    source: str,
    version: int,
    at: datetime,
) -> bool:
    """Record ``version`` as the newest applied from ``source`` for the member, unless one
    at least as new is recorded; returns whether it is newer (then apply it). Concurrent
    claims queue on the row, so the newest always wins whatever the commit order."""
    statement = insert(sync_version).values(
        tenant_id=tenant_id, member_id=member_id, source=source, version=version, updated_at=at
    )
    claimed = await session.scalar(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "member_id", "source"],
            set_={
                "version": statement.excluded.version,
                "updated_at": statement.excluded.updated_at,
            },
            where=sync_version.c.version < statement.excluded.version,
        ).returning(sync_version.c.version)
    )
    return claimed is not None


async def set_display_name(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID, display_name: str
) -> None:
    await session.execute(
        member.update()
        .where(member.c.tenant_id == tenant_id, member.c.id == member_id)
        .values(display_name=display_name)
    )


# --- Identities, addresses, tags, blacklist --------------------------------------------

identity = table_of(Identity)
address = table_of(Address)
tag = table_of(Tag)
growth_entry = table_of(GrowthEntry)


async def link_identity(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    kind: str,
    external_id: str,
    member_id: uuid.UUID,
    at: datetime,
) -> uuid.UUID:
    """Link the channel id to the member; returns the member it belongs to (another
    member's id when it was linked to someone else first)."""
    await session.execute(
        insert(identity)
        .values(
            tenant_id=tenant_id,
            kind=kind,
            external_id=external_id,
            member_id=member_id,
            created_at=at,
        )
        .on_conflict_do_nothing()
    )
    owner: uuid.UUID | None = await session.scalar(
        sa.select(identity.c.member_id).where(
            identity.c.tenant_id == tenant_id,
            identity.c.kind == kind,
            identity.c.external_id == external_id,
        )
    )
    if owner is None:  # pragma: no cover - the row was just written or found
        raise RuntimeError("identity vanished")
    return owner


async def member_by_identity(
    session: AsyncSession, tenant_id: uuid.UUID, kind: str, external_id: str
) -> MemberInfo | None:
    row = (
        await session.execute(
            sa.select(*_member_columns)
            .join(
                identity,
                sa.and_(
                    identity.c.tenant_id == member.c.tenant_id, identity.c.member_id == member.c.id
                ),
            )
            .where(
                identity.c.tenant_id == tenant_id,
                identity.c.kind == kind,
                identity.c.external_id == external_id,
            )
        )
    ).first()
    return MemberInfo(*row) if row else None


async def identities_of(
    session: AsyncSession, tenant_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[str, str]]]:
    found: dict[uuid.UUID, list[tuple[str, str]]] = {i: [] for i in member_ids}
    if not member_ids:
        return found
    rows = await session.execute(
        sa.select(identity.c.member_id, identity.c.kind, identity.c.external_id)
        .where(identity.c.tenant_id == tenant_id, identity.c.member_id.in_(list(member_ids)))
        .order_by(identity.c.member_id, identity.c.kind, identity.c.external_id)
    )
    for row in rows:
        found[row.member_id].append((row.kind, row.external_id))
    return found


_address_columns = (
    address.c.id,
    address.c.member_id,
    address.c.receiver,
    address.c.phone,
    address.c.region,
    address.c.detail,
    address.c.is_default,
    address.c.created_at,
)


async def insert_address(session: AsyncSession, tenant_id: uuid.UUID, value: AddressInfo) -> None:
    if value.is_default:
        await session.execute(
            address.update()
            .where(address.c.tenant_id == tenant_id, address.c.member_id == value.member_id)
            .values(is_default=False)
        )
    await session.execute(
        address.insert().values(
            tenant_id=tenant_id,
            id=value.id,
            member_id=value.member_id,
            receiver=value.receiver,
            phone=value.phone,
            region=value.region,
            detail=value.detail,
            is_default=value.is_default,
            created_at=value.created_at,
        )
    )


async def delete_address(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID, address_id: uuid.UUID
) -> bool:
    deleted = await session.scalar(
        address.delete()
        .where(
            address.c.tenant_id == tenant_id,
            address.c.member_id == member_id,
            address.c.id == address_id,
        )
        .returning(address.c.id)
    )
    return deleted is not None


MAX_ADDRESSES = 20


async def addresses_of(
    session: AsyncSession, tenant_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[AddressInfo]]:
    """Each member's addresses, default first then newest (a member keeps at most 20)."""
    found: dict[uuid.UUID, list[AddressInfo]] = {i: [] for i in member_ids}
    if not member_ids:
        return found
    rows = await session.execute(
        sa.select(*_address_columns)
        .where(address.c.tenant_id == tenant_id, address.c.member_id.in_(list(member_ids)))
        .order_by(address.c.member_id, address.c.is_default.desc(), address.c.id.desc())
    )
    for row in rows.all():
        value = AddressInfo(*row)
        found[value.member_id].append(value)
    return found


async def add_tags(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID, tags: Sequence[str]
) -> None:
    if tags:
        await session.execute(
            insert(tag)
            .values([{"tenant_id": tenant_id, "member_id": member_id, "tag": t} for t in tags])
            .on_conflict_do_nothing()
        )


async def remove_tags(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID, tags: Sequence[str]
) -> None:
    if tags:
        await session.execute(
            tag.delete().where(
                tag.c.tenant_id == tenant_id,
                tag.c.member_id == member_id,
                tag.c.tag.in_(list(tags)),
            )
        )


MAX_TAGS = 50


async def tags_of(
    session: AsyncSession, tenant_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    found: dict[uuid.UUID, list[str]] = {i: [] for i in member_ids}
    if not member_ids:
        return found
    rows = await session.execute(
        sa.select(tag.c.member_id, tag.c.tag)
        .where(tag.c.tenant_id == tenant_id, tag.c.member_id.in_(list(member_ids)))
        .order_by(tag.c.member_id, tag.c.tag)
    )
    for row in rows:
        found[row.member_id].append(row.tag)
    return found


async def set_blacklist(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    blacklisted: bool,
    reason: str | None,
) -> bool:
    changed = await session.scalar(
        member.update()
        .where(member.c.tenant_id == tenant_id, member.c.id == member_id)
        .values(blacklisted=blacklisted, blacklist_reason=reason if blacklisted else None)
        .returning(member.c.id)
    )
    return changed is not None


async def blacklist_reason(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID
) -> tuple[bool, str | None] | None:
    row = (
        await session.execute(
            sa.select(member.c.blacklisted, member.c.blacklist_reason).where(
                member.c.tenant_id == tenant_id, member.c.id == member_id
            )
        )
    ).first()
    return (row.blacklisted, row.blacklist_reason) if row else None
