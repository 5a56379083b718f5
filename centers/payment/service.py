"""Domain logic of the payment center. Never commits; raises ``UserInputError`` on bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.payment import flow, repository
from centers.payment.dto import PaymentInfo, PaymentStatus, PaymentTender
from centers.payment.events import PaymentSucceeded
from kernel.errors import UserInputError
from kernel.idempotency import claim
from kernel.ids import new_id
from kernel.money import Money
from kernel.outbox import emit

CASH_SCOPE = "payment.cash"


def _cash_amount(amount: int, currency: str) -> Money:
    if amount <= 0:
        raise UserInputError(
            "amount must be a positive number of minor units",
            code="INVALID_AMOUNT",
            field=["input", "amount"],
        )
    try:
        return Money(amount, currency)
    except ValueError as error:
        raise UserInputError(
            str(error), code="INVALID_CURRENCY", field=["input", "currency"]
        ) from None


async def record_cash_payment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    idempotency_key: str,
    order_id: uuid.UUID,
    amount: int,
    currency: str,
) -> PaymentInfo:
    """Record cash a cashier took at the POS (现金收款): succeeded as soon as it exists.

    Whether the amount matches what the order still owes is the order center's check;
    this records what the cashier says was handed over.
    """
    money = _cash_amount(amount, currency)
    request = {"orderId": str(order_id), "amount": money.amount, "currency": money.currency}
    claimed = await claim(session, tenant_id, CASH_SCOPE, idempotency_key, request, new_id())
    if claimed.replayed:
        # The claim and the payment commit together, so the first result is there.
        (first,) = await repository.payments_by_ids(session, tenant_id, [claimed.result_id])
        return first
    if await repository.order_payment_of(session, tenant_id, order_id) is not None:
        # The order has a payment (支付单): cash counts toward it, and never beyond it.
        return await flow.take_cash(
            session, tenant_id, payment_id=claimed.result_id, order_id=order_id, money=money
        )
    # Cash for an order without a payment record (e.g. taken before the order existed
    # here): recorded as received, matched by the order center.
    now = datetime.now(UTC)
    value = PaymentInfo(
        id=claimed.result_id,
        tenant_id=tenant_id,
        order_id=order_id,
        tender=PaymentTender.CASH,
        amount=money,
        status=PaymentStatus.SUCCEEDED,
        provider_reference=None,
        created_at=now,
        captured_at=now,
    )
    await repository.insert_payment(session, value)
    await emit(
        session,
        tenant_id,
        PaymentSucceeded(
            payment_id=value.id,
            order_id=order_id,
            tender=value.tender.value,
            amount=money.amount,
            currency=money.currency,
        ),
    )
    return value
