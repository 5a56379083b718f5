"""Every query of the payment center; tenant scoping lives here and only here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from centers.payment.dto import PaymentInfo, PaymentStatus, PaymentTender
from centers.payment.models import Payment
from kernel.db import table_of
from kernel.money import Money

payment = table_of(Payment)

_payment_columns = (
    payment.c.id,
    payment.c.tenant_id,
    payment.c.order_id,
    payment.c.tender,
    payment.c.amount,
    payment.c.currency,
    payment.c.status,
    payment.c.provider_reference,
    payment.c.created_at,
)


def _payment(row: sa.RowMapping) -> PaymentInfo:
    return PaymentInfo(
        id=row["id"],
        tenant_id=row["tenant_id"],
        order_id=row["order_id"],
        tender=PaymentTender(row["tender"]),
        amount=Money(row["amount"], row["currency"]),
        status=PaymentStatus(row["status"]),
        provider_reference=row["provider_reference"],
        created_at=row["created_at"],
    )


async def insert_payment(session: AsyncSession, value: PaymentInfo) -> None:
    await session.execute(
        payment.insert().values(
            tenant_id=value.tenant_id,
            id=value.id,
            order_id=value.order_id,
            tender=value.tender.value,
            amount=value.amount.amount,
            currency=value.amount.currency,
            status=value.status.value,
            provider_reference=value.provider_reference,
            created_at=value.created_at,
        )
    )


async def payments_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[PaymentInfo]:
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_payment_columns).where(payment.c.tenant_id == tenant_id, payment.c.id.in_(ids))
    )
    return [_payment(row) for row in rows.mappings().all()]


async def payments_by_order_ids(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[PaymentInfo]]:
    """Each order id with its payments, oldest first (``[]`` if none or another tenant's).

    Unpaged on purpose: an order has a handful of payments (one per tender) at most.
    """
    found: dict[uuid.UUID, list[PaymentInfo]] = {i: [] for i in order_ids}
    if not order_ids:
        return found
    rows = await session.execute(
        sa.select(*_payment_columns)
        .where(payment.c.tenant_id == tenant_id, payment.c.order_id.in_(order_ids))
        .order_by(payment.c.order_id, payment.c.id)
    )
    for row in rows.mappings().all():
        value = _payment(row)
        found[value.order_id].append(value)
    return found
