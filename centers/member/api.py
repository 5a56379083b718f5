"""The member center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.member import profile, repository, service
from centers.member.dto import (
    AddressInfo,
    IdentityKind,
    MemberInfo,
    MemberPricingProfile,
    MemberReview,
    MemberSyncResult,
)

__all__ = [
    "AddressInfo",
    "IdentityKind",
    "MemberInfo",
    "MemberPricingProfile",
    "MemberReview",
    "MemberSyncResult",
    "add_growth_for_order",
    "addresses_of",
    "get_member",
    "get_members",
    "member_by_identity",
    "member_by_phone",
    "pricing_profile",
    "register_member",
    "review_member",
    "sync_member",
]


async def register_member(
    session: AsyncSession, tenant_id: uuid.UUID, *, phone: str, display_name: str
) -> MemberInfo:
    """Register a member by phone; raises ``UserInputError`` (``INVALID_PHONE``,
    ``PHONE_TAKEN``, ``INVALID_NAME``). A replayed registration is ``PHONE_TAKEN``."""
    return await service.register_member(session, tenant_id, phone=phone, display_name=display_name)


async def member_by_phone(
    session: AsyncSession, tenant_id: uuid.UUID, phone: str
) -> MemberInfo | None:
    """The tenant's member with this phone, if any (spaces and dashes are ignored)."""
    return await repository.member_by_phone(session, tenant_id, service.normalize_phone(phone))


async def get_members(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, MemberInfo]:
    """The tenant's members among ``ids``; ids of other tenants are simply absent."""
    return {m.id: m for m in await repository.members_by_ids(session, tenant_id, ids)}


async def get_member(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID
) -> MemberInfo | None:
    """One member of the tenant, or ``None`` (also for another tenant's member)."""
    return (await get_members(session, tenant_id, [member_id])).get(member_id)


async def pricing_profile(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    sku_ids: Sequence[uuid.UUID],
) -> MemberPricingProfile | None:
    """The member's level and its benefits (member discount, member prices of
    ``sku_ids``) for pricing; ``None`` for an unknown member or another tenant's."""
    return await repository.pricing_profile(session, tenant_id, member_id, sku_ids)


async def member_by_identity(
    session: AsyncSession, tenant_id: uuid.UUID, kind: IdentityKind, external_id: str
) -> MemberInfo | None:
    """The member a channel id belongs to (phone, app account, mini-program openid),
    or ``None``: every channel's id leads to the same member."""
    return await profile.member_by_identity(session, tenant_id, kind, external_id)


async def review_member(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID
) -> MemberReview | None:
    """For order review (审核): whether the member is blacklisted (and why) and their
    tags; ``None`` for an unknown member or another tenant's."""
    return await profile.review(session, tenant_id, member_id)


async def addresses_of(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID
) -> list[AddressInfo]:
    """The member's delivery addresses, the default first."""
    return (await repository.addresses_of(session, tenant_id, [member_id]))[member_id]


async def add_growth_for_order(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    order_id: uuid.UUID,
    amount_paid: int,
) -> bool:
    """Add growth value (成长值) for a completed order, 1 per 100 minor units paid, once
    per order, moving the member to the level it reaches; returns whether it was added."""
    return await profile.add_growth_for_order(
        session, tenant_id, member_id=member_id, order_id=order_id, amount_paid=amount_paid
    )


async def sync_member(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    source: str,
    phone: str,
    display_name: str,
    source_version: int,
) -> MemberSyncResult:
    """Create or update a member from another system (the CRM), by phone: registers an
    unknown phone (``member.registered``), else updates the display name. Idempotent and
    ordered per (member, ``source``): a ``source_version`` not newer than the last one
    applied changes nothing (``applied=False``), so replays and late, out-of-order
    messages never overwrite a newer one. Levels and points are not taken from the
    source (growth drives the level; the points ledger is ours). Raises
    ``UserInputError``: ``INVALID_SOURCE``, ``INVALID_SOURCE_VERSION``, ``INVALID_PHONE``,
    ``INVALID_NAME``, ``PHONE_TAKEN`` (the phone was linked to another member a moment
    ago)."""
    return await service.sync_member(
        session,
        tenant_id,
        source=source,
        phone=phone,
        display_name=display_name,
        source_version=source_version,
    )
