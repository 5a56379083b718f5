"""The payment center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.payment import repository, service
from centers.payment.dto import PaymentInfo, PaymentStatus, PaymentTender

__all__ = [
    "PaymentInfo",
    "PaymentStatus",
    "PaymentTender",
    "get_payment",
    "get_payments",
    "payments_of_orders",
    "record_cash_payment",
]


async def record_cash_payment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    idempotency_key: str,
    order_id: uuid.UUID,
    amount: int,
    currency: str = "CNY",
) -> PaymentInfo:
    """Record a SUCCEEDED cash payment, once per ``idempotency_key`` (scope ``payment.cash``).

    A replay with the same key and input returns the first payment. Raises
    ``UserInputError`` (``INVALID_AMOUNT``, ``INVALID_CURRENCY``,
    ``INVALID_IDEMPOTENCY_KEY``, ``IDEMPOTENCY_KEY_REUSED``). Does not check the order:
    matching the amount to what the order owes is the caller's job.
    """
    return await service.record_cash_payment(
        session,
        tenant_id,
        idempotency_key=idempotency_key,
        order_id=order_id,
        amount=amount,
        currency=currency,
    )


async def get_payments(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, PaymentInfo]:
    """The tenant's payments among ``ids``; ids of other tenants are simply absent."""
    return {p.id: p for p in await repository.payments_by_ids(session, tenant_id, ids)}


async def get_payment(
    session: AsyncSession, tenant_id: uuid.UUID, payment_id: uuid.UUID
) -> PaymentInfo | None:
    """One payment of the tenant, or ``None`` (also for another tenant's payment)."""
    return (await get_payments(session, tenant_id, [payment_id])).get(payment_id)


async def payments_of_orders(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[PaymentInfo]]:
    """Each of ``order_ids`` with the tenant's payments for it, oldest first (``[]`` if none)."""
    return await repository.payments_by_order_ids(session, tenant_id, order_ids)
