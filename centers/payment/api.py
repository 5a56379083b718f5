"""The payment center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.payment import flow, providers, refunds, repository, service
from centers.payment.dto import (
    OrderPaymentInfo,
    OrderPaymentStatus,
    PaymentInfo,
    PaymentStatus,
    PaymentTender,
    ProviderAccountSettings,
    RefundInfo,
    RefundStatus,
)
from centers.payment.providers import ProviderFactory
from kernel.batch import Batch

__all__ = [
    "OrderPaymentInfo",
    "OrderPaymentStatus",
    "PaymentInfo",
    "PaymentStatus",
    "PaymentTender",
    "ProviderAccountSettings",
    "ProviderFactory",
    "RefundInfo",
    "RefundStatus",
    "close_payment",
    "get_order_payment",
    "get_payment",
    "get_payments",
    "open_payment",
    "open_payment_in",
    "payments_of_orders",
    "record_cash_payment",
    "record_channel_payment",
    "refund",
    "refunds_of_order",
    "register_provider",
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


def open_payment_in(
    batch: Batch,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    amount: int,
    currency: str,
    store_id: uuid.UUID | None = None,
    member_id: uuid.UUID | None = None,
    line_amounts: Mapping[uuid.UUID, int] | None = None,
    deposit_amount: int | None = None,
    balance_from: datetime | None = None,
    when: str = "true",
) -> OrderPaymentInfo:
    """``open_payment`` for an order being written in the same ``kernel.batch``
    (one round trip with the order's rows): the payment is written if ``when`` holds
    there. Only for a new order (no payment can be open yet); same checks and errors
    as ``open_payment``, raised before anything is sent."""
    return flow.open_payment_in(
        batch,
        tenant_id,
        order_id=order_id,
        amount=amount,
        currency=currency,
        store_id=store_id,
        member_id=member_id,
        line_amounts=line_amounts,
        deposit_amount=deposit_amount,
        balance_from=balance_from,
        when=when,
    )


async def open_payment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    amount: int,
    currency: str,
    store_id: uuid.UUID | None = None,
    member_id: uuid.UUID | None = None,
    line_amounts: Mapping[uuid.UUID, int] | None = None,
    deposit_amount: int | None = None,
    balance_from: datetime | None = None,
) -> OrderPaymentInfo:
    """Open the order's payment (支付单) for ``amount`` (> 0; an order with nothing to pay
    needs no payment). ``line_amounts`` (order line id → payable after discounts) must
    add up to ``amount``; refunds are capped per line and tender by it (default: one
    line keyed by the order id). Idempotent per order: opening it again with the same
    values returns it. Raises ``UserInputError``: ``INVALID_AMOUNT``,
    ``INVALID_CURRENCY``, ``INVALID_LINES``, ``PAYMENT_MISMATCH``.

    When tenders (cash, points, provider callbacks) cover ``amount``, the payment
    center emits ``payment.captured`` (``order_id``, ``payment_id``, ``amount``,
    ``currency``) in the capturing transaction; a handler raising
    ``InvalidOperationError`` makes it close the payment and refund every tender.

    Presale (预售): with ``deposit_amount`` (0 < deposit < amount) the payment is paid
    in two stages. Tenders first pay at most the deposit; when it is covered
    ``payment.captured`` is emitted with ``stage`` ``DEPOSIT`` and its amount, and the
    payment stays ``OPEN``. The balance can be paid from ``balance_from`` on (before,
    tenders answer ``BALANCE_NOT_OPEN``); when covered, ``payment.captured`` with stage
    ``BALANCE`` and the balance amount, and the payment is ``PAID``. One stage orders
    get stage ``FULL``.
    """
    return await flow.open_payment(
        session,
        tenant_id,
        order_id=order_id,
        amount=amount,
        currency=currency,
        store_id=store_id,
        member_id=member_id,
        line_amounts=line_amounts,
        deposit_amount=deposit_amount,
        balance_from=balance_from,
    )


async def record_channel_payment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    amount: int,
    currency: str,
    channel: str,
    reference: str,
    store_id: uuid.UUID | None = None,
    line_amounts: Mapping[uuid.UUID, int] | None = None,
) -> OrderPaymentInfo:
    """Record that a sales channel (takeout platform, agency) collected the order's
    ``amount``: the order's payment is opened and ``PAID`` by one ``CHANNEL`` tender whose
    provider is ``channel`` and reference the channel's order id. Refunds then go back
    to that tender like any other (``SUCCEEDED`` at once: the channel pays the buyer
    back and settles with the brand) and appear under ``CHANNEL``/``channel`` in the
    daily reconciliation. Emits ``payment.succeeded``, not ``payment.captured`` (the
    caller moves its order). Idempotent per order. Raises ``UserInputError`` as
    ``open_payment``."""
    return await flow.record_channel_payment(
        session,
        tenant_id,
        order_id=order_id,
        amount=amount,
        currency=currency,
        channel=channel,
        reference=reference,
        store_id=store_id,
        line_amounts=line_amounts or {order_id: amount},
    )


async def close_payment(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, *, keep_paid: bool = False
) -> OrderPaymentInfo | None:
    """The order was cancelled before it was paid: no further capture. Tenders already
    taken are refunded to where they came from; a provider payment that succeeds later
    is refunded as soon as its callback arrives. Idempotent; ``None`` when the order
    has no payment. Raises ``UserInputError`` ``ALREADY_PAID`` (refund it instead).
    ``keep_paid``: keep what was captured (a forfeited presale deposit, 定金不退)."""
    return await flow.close_payment(session, tenant_id, order_id, keep_paid=keep_paid)


async def refund(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    key: str,
    line_amounts: Mapping[uuid.UUID, int],
    *,
    reason: str = "refund",
) -> list[RefundInfo]:
    """Refund ``line_amounts`` (order line id → amount) of a paid order to the original
    tenders: each line's amount is split over the tenders that paid it, never more than a
    tender paid on a line; one refund record per tender. Points the order earned are
    reversed and points it redeemed given back, in proportion. Idempotent per
    (``order_id``, ``key``): a replay returns the first refunds. Raises
    ``UserInputError``: ``NO_LINES``, ``INVALID_AMOUNT``, ``LINE_NOT_FOUND``,
    ``REFUND_EXCEEDS_PAID``, ``PAYMENT_NOT_FOUND``, ``NOT_REFUNDABLE``,
    ``PROVIDER_UNAVAILABLE``, ``INVALID_IDEMPOTENCY_KEY``, ``IDEMPOTENCY_KEY_REUSED``."""
    return await refunds.refund(
        session, tenant_id, order_id=order_id, key=key, line_amounts=line_amounts, reason=reason
    )


async def get_order_payment(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> OrderPaymentInfo | None:
    """The order's payment, or ``None``."""
    return await repository.order_payment_of(session, tenant_id, order_id)


async def refunds_of_order(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> list[RefundInfo]:
    """The order's refunds, oldest first."""
    return await repository.refunds_of_order(session, tenant_id, order_id)


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Make a provider adapter available under ``name`` (the plugin registry calls this;
    adapters are also discovered from the ``zhongtai.payment_providers`` entry points).
    ``factory`` builds a ``ports.PaymentProvider`` from a tenant's account settings."""
    providers.register_provider(name, factory)
