"""Domain logic of the member center. Never commits; raises ``UserInputError`` on bad input."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.member import repository
from centers.member.dto import MemberInfo
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
