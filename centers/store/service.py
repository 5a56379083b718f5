"""Domain logic of the store center. Never commits; raises ``UserInputError`` on bad input."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import available_timezones

from sqlalchemy.ext.asyncio import AsyncSession

from centers.store import repository
from centers.store.dto import StoreInfo, TenantInfo
from centers.store.events import StoreChanged, StoreCreated, TenantCreated
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.money import Money
from kernel.outbox import emit
from kernel.text import required_text

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
STORE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def _clean_name(name: str, field: list[str]) -> str:
    return required_text(name, label="name", max_length=200, code="INVALID_NAME", field=field)


async def create_tenant(
    session: AsyncSession, *, slug: str, name: str, currency: str = "CNY"
) -> TenantInfo:
    if not SLUG.match(slug):
        raise UserInputError(
            "slug must be 2-63 lowercase letters, digits or '-'",
            code="INVALID_SLUG",
            field=["slug"],
        )
    try:
        Money(0, currency)
    except ValueError as error:
        raise UserInputError(str(error), code="INVALID_CURRENCY", field=["currency"]) from None
    value = TenantInfo(id=new_id(), slug=slug, name=_clean_name(name, ["name"]), currency=currency)
    if not await repository.insert_tenant(session, value, datetime.now(UTC)):
        raise UserInputError(f"slug {slug!r} is taken", code="SLUG_TAKEN", field=["slug"])
    await emit(session, value.id, TenantCreated(tenant_id=value.id, slug=slug))
    return value


async def create_store(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    code: str,
    name: str,
    timezone: str = "Asia/Shanghai",
) -> StoreInfo:
    if not STORE_CODE.match(code):
        raise UserInputError(
            "code must be 1-64 letters, digits, '_' or '-'",
            code="INVALID_CODE",
            field=["input", "code"],
        )
    _check_timezone(timezone)
    value = StoreInfo(
        id=new_id(),
        tenant_id=tenant_id,
        code=code,
        name=_clean_name(name, ["input", "name"]),
        timezone=timezone,
    )
    if not await repository.insert_store(session, value, datetime.now(UTC)):
        raise UserInputError(
            f"store code {code!r} is taken", code="CODE_TAKEN", field=["input", "code"]
        )
    await emit(
        session,
        tenant_id,
        StoreCreated(store_id=value.id, code=code, name=value.name, timezone=timezone),
    )
    return value


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_timezone(timezone: str) -> None:
    """An IANA name of the tz database. Looked up in its list first: ``ZoneInfo`` reads the
    name as a file path, so a directory ("Asia") or an over-long name raised OSError."""
    if timezone not in _time_zones():
        raise UserInputError(
            f"unknown time zone {timezone[:64]!r}",
            code="INVALID_TIMEZONE",
            field=["input", "timezone"],
        )


async def update_store(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    *,
    name: str | None = None,
    timezone: str | None = None,
) -> StoreInfo:
    """Rename a store or move its time zone (the code is its key in other systems and
    stays). Emits ``store.store_changed`` with the whole record, in the same
    transaction, when anything changed."""
    found = await repository.stores_by_ids(session, tenant_id, [store_id])
    if not found:
        raise UserInputError("store not found", code="STORE_NOT_FOUND", field=["input", "id"])
    current = found[0]
    new_name = current.name if name is None else _clean_name(name, ["input", "name"])
    new_timezone = current.timezone if timezone is None else timezone
    _check_timezone(new_timezone)
    if (new_name, new_timezone) == (current.name, current.timezone):
        return current  # nothing to tell the backends
    updated = await repository.update_store(
        session, tenant_id, store_id, name=new_name, timezone=new_timezone
    )
    assert updated is not None  # read above in the same transaction
    await emit(
        session,
        tenant_id,
        StoreChanged(
            store_id=updated.id, code=updated.code, name=updated.name, timezone=updated.timezone
        ),
    )
    return updated
