"""Levels and benefits, growth, channel identities, addresses, tags and the blacklist."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.member import repository
from centers.member.dto import (
    AddressInfo,
    IdentityKind,
    LevelRuleInfo,
    MemberInfo,
    MemberReview,
)
from centers.member.events import MemberLevelChanged
from centers.member.service import PHONE, normalize_phone
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.outbox import emit
from kernel.text import required_text

MAX_LEVEL = 20
MAX_GROWTH = 1_000_000_000
MAX_EXTERNAL_ID = 128
MAX_TAG_LENGTH = 64
COMBINE_RULES = ("STACK", "UNDISCOUNTED_ONLY")
# Growth earned per order: 1 per whole currency unit paid (per 100 minor units).
GROWTH_PER_AMOUNT = 100


async def _member(session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID) -> MemberInfo:
    found = await repository.members_by_ids(session, tenant_id, [member_id])
    if not found:
        raise UserInputError(
            "member not found", code="MEMBER_NOT_FOUND", field=["input", "memberId"]
        )
    return found[0]


async def set_level_rule(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    level: int,
    name: str,
    growth_threshold: int,
    discount_bp: int,
    combine: str,
) -> LevelRuleInfo:
    """Define (or redefine) a level and its benefits; members move to the level their
    growth now reaches."""
    if not 1 <= level <= MAX_LEVEL:
        raise UserInputError(
            f"level must be 1 to {MAX_LEVEL}", code="INVALID_LEVEL", field=["input", "level"]
        )
    if not 0 <= growth_threshold <= MAX_GROWTH:
        raise UserInputError(
            "growthThreshold must not be negative",
            code="INVALID_LEVEL",
            field=["input", "growthThreshold"],
        )
    if not 0 <= discount_bp <= 9999:
        raise UserInputError(
            "discountBasisPoints must be 0 to 9999",
            code="INVALID_LEVEL",
            field=["input", "discountBasisPoints"],
        )
    if combine not in COMBINE_RULES:
        raise UserInputError(
            f"combine is one of {', '.join(COMBINE_RULES)}",
            code="INVALID_LEVEL",
            field=["input", "combine"],
        )
    cleaned = required_text(
        name, label="name", max_length=100, code="INVALID_NAME", field=["input", "name"]
    )
    saved = await repository.save_level_rule(
        session,
        tenant_id,
        LevelRuleInfo(
            id=new_id(),
            level=level,
            name=cleaned,
            growth_threshold=growth_threshold,
            discount_bp=discount_bp,
            combine=combine,
        ),
        datetime.now(UTC),
    )
    for member_id, change in await repository.recompute_levels(session, tenant_id):
        await emit(
            session,
            tenant_id,
            MemberLevelChanged(
                member_id=member_id,
                from_level=change.level_before,
                to_level=change.level_after,
                growth=change.growth,
            ),
        )
    return saved


async def set_member_price(
    session: AsyncSession, tenant_id: uuid.UUID, *, level: int, sku_id: uuid.UUID, price: int | None
) -> LevelRuleInfo:
    """Set (or with ``None`` remove) the member price (会员价) of a SKU for a level."""
    rule = await repository.level_rule_by_level(session, tenant_id, level)
    if rule is None:
        raise UserInputError(
            "define the level first", code="LEVEL_NOT_FOUND", field=["input", "level"]
        )
    if price is not None and not 0 <= price <= 10**12:
        raise UserInputError(
            "price must not be negative", code="INVALID_PRICE", field=["input", "price"]
        )
    await repository.set_level_price(session, tenant_id, rule.id, sku_id, price)
    return rule


async def add_growth_for_order(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    order_id: uuid.UUID,
    amount_paid: int,
) -> bool:
    growth = max(amount_paid, 0) // GROWTH_PER_AMOUNT
    if growth <= 0:
        return False
    change = await repository.add_growth(
        session, tenant_id, member_id, growth, f"order:{order_id}", datetime.now(UTC)
    )
    if change is None:
        return False
    if change.level_after != change.level_before:
        await emit(
            session,
            tenant_id,
            MemberLevelChanged(
                member_id=member_id,
                from_level=change.level_before,
                to_level=change.level_after,
                growth=change.growth,
            ),
        )
    return True


def _external_id(kind: IdentityKind, external_id: str) -> str:
    if kind is IdentityKind.PHONE:
        phone = normalize_phone(external_id)
        if not PHONE.match(phone):
            raise UserInputError(
                "phone must be in international form, e.g. +8613800138000",
                code="INVALID_PHONE",
                field=["input", "externalId"],
            )
        return phone
    value = external_id.strip()
    if not 1 <= len(value) <= MAX_EXTERNAL_ID or not value.isprintable():
        raise UserInputError(
            f"externalId is 1 to {MAX_EXTERNAL_ID} printable characters",
            code="INVALID_EXTERNAL_ID",
            field=["input", "externalId"],
        )
    return value


async def link_identity(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    kind: IdentityKind,
    external_id: str,
) -> MemberInfo:
    """Tie a channel's id (app account, mini-program openid, another phone) to the
    member, so that channel finds the same member (idempotent)."""
    value = _external_id(kind, external_id)
    found = await _member(session, tenant_id, member_id)
    owner = await repository.link_identity(
        session, tenant_id, kind.value, value, member_id, datetime.now(UTC)
    )
    if owner != member_id:
        raise UserInputError(
            "this id already belongs to another member",
            code="IDENTITY_TAKEN",
            field=["input", "externalId"],
        )
    return found


async def member_by_identity(
    session: AsyncSession, tenant_id: uuid.UUID, kind: IdentityKind, external_id: str
) -> MemberInfo | None:
    try:
        value = _external_id(kind, external_id)
    except UserInputError:
        return None
    return await repository.member_by_identity(session, tenant_id, kind.value, value)


def _text(value: str, name: str, max_length: int) -> str:
    return required_text(
        value, label=name, max_length=max_length, code="INVALID_ADDRESS", field=["input", name]
    )


async def add_address(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    receiver: str,
    phone: str,
    region: str,
    detail: str,
    is_default: bool,
) -> AddressInfo:
    await _member(session, tenant_id, member_id)
    phone = normalize_phone(phone)
    if not PHONE.match(phone):
        raise UserInputError(
            "phone must be in international form", code="INVALID_PHONE", field=["input", "phone"]
        )
    existing = (await repository.addresses_of(session, tenant_id, [member_id]))[member_id]
    if len(existing) >= repository.MAX_ADDRESSES:
        raise UserInputError(
            f"a member keeps at most {repository.MAX_ADDRESSES} addresses",
            code="TOO_MANY_ADDRESSES",
            field=["input", "memberId"],
        )
    value = AddressInfo(
        id=new_id(),
        member_id=member_id,
        receiver=_text(receiver, "receiver", 100),
        phone=phone,
        region=_text(region, "region", 200),
        detail=_text(detail, "detail", 500),
        # The first address is the default whatever was asked.
        is_default=is_default or not existing,
        created_at=datetime.now(UTC),
    )
    await repository.insert_address(session, tenant_id, value)
    return value


async def remove_address(
    session: AsyncSession, tenant_id: uuid.UUID, *, member_id: uuid.UUID, address_id: uuid.UUID
) -> None:
    if not await repository.delete_address(session, tenant_id, member_id, address_id):
        raise UserInputError(
            "address not found", code="ADDRESS_NOT_FOUND", field=["input", "addressId"]
        )


def _clean_tags(tags: Sequence[str]) -> list[str]:
    cleaned = sorted({t.strip() for t in tags})
    for value in cleaned:
        if not 1 <= len(value) <= MAX_TAG_LENGTH or not value.isprintable():
            raise UserInputError(
                f"a tag is 1 to {MAX_TAG_LENGTH} printable characters",
                code="INVALID_TAG",
                field=["input", "tags"],
            )
    return cleaned


async def tag_member(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    add: Sequence[str],
    remove: Sequence[str],
) -> list[str]:
    await _member(session, tenant_id, member_id)
    await repository.remove_tags(session, tenant_id, member_id, _clean_tags(remove))
    await repository.add_tags(session, tenant_id, member_id, _clean_tags(add))
    tags = (await repository.tags_of(session, tenant_id, [member_id]))[member_id]
    if len(tags) > repository.MAX_TAGS:
        raise UserInputError(
            f"a member has at most {repository.MAX_TAGS} tags",
            code="TOO_MANY_TAGS",
            field=["input", "add"],
        )
    return tags


async def set_blacklisted(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    blacklisted: bool,
    reason: str | None,
) -> MemberInfo:
    cleaned: str | None = None
    if blacklisted:
        cleaned = required_text(
            reason or "",
            label="reason",
            max_length=200,
            code="INVALID_REASON",
            field=["input", "reason"],
        )
    if not await repository.set_blacklist(session, tenant_id, member_id, blacklisted, cleaned):
        raise UserInputError(
            "member not found", code="MEMBER_NOT_FOUND", field=["input", "memberId"]
        )
    return await _member(session, tenant_id, member_id)


async def review(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID
) -> MemberReview | None:
    found = await repository.blacklist_reason(session, tenant_id, member_id)
    if found is None:
        return None
    tags = (await repository.tags_of(session, tenant_id, [member_id]))[member_id]
    identities = (await repository.identities_of(session, tenant_id, [member_id]))[member_id]
    app = next((e for kind, e in identities if kind == IdentityKind.APP), None)
    return MemberReview(
        member_id=member_id,
        blacklisted=found[0],
        reason=found[1],
        tags=tuple(tags),
        app_account=app,
    )
