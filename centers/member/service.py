"""Domain logic of the member center. Never commits."""

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

# E.164: a plus, a country code and at most 15 digits in all (e.g. +8613800138000).
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")


def normalize_phone(raw: str) -> str:
    """Strip spaces and dashes people type; the stored form is E.164."""
    return re.sub(r"[\s-]", "", raw)


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
    name = display_name.strip()
    if not name or len(name) > 100:
        raise UserInputError(
            "displayName must be 1 to 100 characters",
            code="INVALID_NAME",
            field=["input", "displayName"],
        )
    value = MemberInfo(
        id=new_id(), phone=phone, display_name=name, level=1, created_at=datetime.now(UTC)
    )
    if not await repository.insert_member(session, tenant_id, value):
        raise UserInputError(
            "a member with this phone exists", code="PHONE_TAKEN", field=["input", "phone"]
        )
    await emit(
        session,
        tenant_id,
        MemberRegistered(member_id=value.id, phone=phone, display_name=name),
    )
    return value
