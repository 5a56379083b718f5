"""The daily reconciliation (对账) of one store: per tender, what came in and went out."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from centers.payment import repository
from centers.payment.dto import ReconciliationRow
from centers.store import api as store_api
from kernel.errors import UserInputError


async def daily(
    session: AsyncSession, tenant_id: uuid.UUID, store_id: uuid.UUID, day: date
) -> list[ReconciliationRow]:
    """The store's business day in its own time zone: payments captured and refunds
    completed between its local midnights."""
    store = await store_api.get_store(session, tenant_id, store_id)
    if store is None:
        raise UserInputError("store not found", code="STORE_NOT_FOUND", field=["storeId"])
    zone = ZoneInfo(store.timezone)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return await repository.reconciliation(session, tenant_id, store_id, start, end)
