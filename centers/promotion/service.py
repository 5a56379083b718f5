"""Domain logic of the promotion center. Never commits; raises ``UserInputError`` on bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.promotion import repository
from centers.promotion.dto import PromotionActivityInfo, PromotionKind, PromotionStatus
from centers.promotion.events import PromotionActivityCreated
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.outbox import emit
from kernel.text import required_text


def _clean_name(name: str) -> str:
    return required_text(
        name, label="name", max_length=200, code="INVALID_NAME", field=["input", "name"]
    )


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    # A window without an offset would be read in whatever zone the server runs in;
    # a flash sale that starts eight hours late is worse than a refused input.
    for field, moment in (("startsAt", starts_at), ("endsAt", ends_at)):
        if moment.utcoffset() is None:
            raise UserInputError(
                f"{field} needs a time zone offset",
                code="INVALID_WINDOW",
                field=["input", field],
            )
    if ends_at <= starts_at:
        raise UserInputError(
            "endsAt must be after startsAt", code="INVALID_WINDOW", field=["input", "endsAt"]
        )


async def create_activity(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    kind: PromotionKind,
    starts_at: datetime,
    ends_at: datetime,
) -> PromotionActivityInfo:
    cleaned = _clean_name(name)
    _check_window(starts_at, ends_at)
    # Created as a draft: an operator reviews the rules before the activity goes live.
    value = PromotionActivityInfo(
        id=new_id(),
        tenant_id=tenant_id,
        name=cleaned,
        kind=kind,
        status=PromotionStatus.DRAFT,
        starts_at=starts_at.astimezone(UTC),
        ends_at=ends_at.astimezone(UTC),
        created_at=datetime.now(UTC),
    )
    await repository.insert_activity(session, value)
    await emit(
        session,
        tenant_id,
        PromotionActivityCreated(
            activity_id=value.id,
            name=value.name,
            kind=value.kind.value,
            starts_at=value.starts_at,
            ends_at=value.ends_at,
        ),
    )
    return value
