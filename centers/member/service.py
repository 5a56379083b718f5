"""Domain logic of the member center. Never commits; raises ``UserInputError`` on bad input."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.member import repository
from centers.member.dto import MemberInfo, MemberSyncResult
from centers.member.events import MemberRegistered
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.outbox import emit
from kernel.text import required_text

# E.164: "+", a country code that does not start with 0, at most 15 digits in all.
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
# What people type between digits at a POS or in a form ("+86 138-0013-8000").
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")


def normalize_phone(raw: str) -> str:
    """The stored form of a phone number: E.164 without spaces or punctuation."""
    return _PHONE_PUNCTUATION.sub("", raw)


def _clean_name(name: str, field: list[str]) -> str:
    return required_text(
        name, label="displayName", max_length=100, code="INVALID_NAME", field=field
    )


async def register_member(
    session: AsyncSession, tenant_id: uuid.UUID, *, phone: str, display_name: str
) -> MemberInfo:
    phone = normalize_phone(phone)
    if not PHONE.match(phone):
        raise UserInputError(
            "phone must be in international form, e.g. +8613800138000",
            code="INVALID_PHONE",
            field=["input", "phone"],
        )
    value = MemberInfo(
        id=new_id(),
        tenant_id=tenant_id,
        phone=phone,
        display_name=_clean_name(display_name, ["input", "displayName"]),
        level=1,
        created_at=datetime.now(UTC),
    )
    # The phone is the member's identity: registering it again (a replay included) is
    # refused rather than answered with the existing member, so a second registration
    # under another name never looks as if its name had been saved.
    if not await repository.insert_member(session, value):
        raise UserInputError(
            "a member with this phone is already registered",
            code="PHONE_TAKEN",
            field=["input", "phone"],
        )
    # The phone is the first identity: lookups by any channel id go through one table.
    owner = await repository.link_identity(
        session, tenant_id, "PHONE", phone, value.id, value.created_at
    )
    if owner != value.id:  # the phone is another member's second number
        raise UserInputError(
            "a member with this phone is already registered",
            code="PHONE_TAKEN",
            field=["input", "phone"],
        )
    await emit(
        session,
        tenant_id,
        MemberRegistered(member_id=value.id, phone=phone, display_name=value.display_name),
    )
    return value


# A source is the system a message comes from, e.g. the CRM plugin "crm-rest".
SOURCE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_SOURCE_VERSION = 2**63 - 1


async def sync_member(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    source: str,
    phone: str,
    display_name: str,
    source_version: int,
) -> MemberSyncResult:
    """Create or update a member from another system, by phone (the member's identity),
    idempotent and ordered per member by ``source_version``."""
    if not SOURCE.match(source):
        raise UserInputError(
            "source must be 1-64 letters, digits, '_', '.', ':' or '-'",
            code="INVALID_SOURCE",
            field=["source"],
        )
    if not 0 <= source_version <= MAX_SOURCE_VERSION:
        raise UserInputError(
            "sourceVersion must be a non-negative 64-bit integer",
            code="INVALID_SOURCE_VERSION",
            field=["sourceVersion"],
        )
    phone = normalize_phone(phone)
    if not PHONE.match(phone):
        raise UserInputError(
            "phone must be in international form, e.g. +8613800138000",
            code="INVALID_PHONE",
            field=["phone"],
        )
    name = _clean_name(display_name, ["displayName"])
    now = datetime.now(UTC)
    # The phone leads to its member, also when it is a member's second number.
    known = await repository.member_by_identity(
        session, tenant_id, "PHONE", phone
    ) or await repository.member_by_phone(session, tenant_id, phone)
    if known is None:
        fresh = MemberInfo(
            id=new_id(),
            tenant_id=tenant_id,
            phone=phone,
            display_name=name,
            level=1,
            created_at=now,
        )
        # A concurrent message (or registration) for the same phone that committed first
        # makes this one an update of that member.
        if await repository.insert_member(session, fresh):
            owner = await repository.link_identity(
                session, tenant_id, "PHONE", phone, fresh.id, now
            )
            if owner != fresh.id:  # the phone is another member's second number
                raise UserInputError(  # linked a moment ago: the next message updates it
                    "this phone is another member's second number",
                    code="PHONE_TAKEN",
                    field=["phone"],
                )
            await repository.claim_sync_version(
                session, tenant_id, fresh.id, source, source_version, now
            )
            await emit(
                session,
                tenant_id,
                MemberRegistered(member_id=fresh.id, phone=phone, display_name=name),
            )
            return MemberSyncResult(member=fresh, created=True, applied=True)
        known = await repository.member_by_phone(session, tenant_id, phone)
        if known is None:  # pragma: no cover - the conflicting row is committed
            raise RuntimeError("a member's phone conflicted but the member is not there")
    if not await repository.claim_sync_version(
        session, tenant_id, known.id, source, source_version, now
    ):
        return MemberSyncResult(member=known, created=False, applied=False)
    if known.display_name != name:
        await repository.set_display_name(session, tenant_id, known.id, name)
        known = replace(known, display_name=name)
    return MemberSyncResult(member=known, created=False, applied=True)
