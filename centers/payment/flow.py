"""An order's payment from opening to capture or close: tenders, capture, provider
callbacks. Never commits.

Every change to one order's money first locks its ``order_payment`` row, so tenders,
callbacks, closing and refunds of one order queue and each sees what the previous left.
When the tenders cover the payable, ``payment.captured`` is emitted inside a savepoint:
the order center's handler moves the order to PAID in the same transaction, and if it
refuses (the order was cancelled meanwhile) the savepoint is undone, the payment is
closed and every captured tender refunded at once, so no money is kept for a
cancelled order.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.member import api as member_api
from centers.payment import providers, refunds, repository
from centers.payment.dto import (
    CallbackKind,
    OnlinePaymentStart,
    OrderPaymentInfo,
    OrderPaymentStatus,
    PaymentInfo,
    PaymentStatus,
    PaymentTender,
    ProviderCallback,
    ProviderPaymentRequest,
    StoredValueEntryInfo,
)
from centers.payment.events import PaymentCaptured, PaymentSucceeded
from centers.points import api as points_api
from kernel import idempotency
from kernel.batch import Batch
from kernel.errors import InvalidOperationError, NotFoundError, UserInputError
from kernel.ids import new_id
from kernel.money import Money
from kernel.outbox import emit

MAX_LINES = 500
ORDER_CLOSED = "ORDER_CLOSED"
OVERPAID = "OVERPAID"
STAGE_FULL = "FULL"
STAGE_DEPOSIT = "DEPOSIT"
STAGE_BALANCE = "BALANCE"


def _money(amount: int, currency: str, field: str = "amount") -> Money:
    if amount <= 0:
        raise UserInputError(
            "amount must be a positive number of minor units",
            code="INVALID_AMOUNT",
            field=["input", field],
        )
    try:
        return Money(amount, currency)
    except ValueError as error:
        raise UserInputError(
            str(error), code="INVALID_CURRENCY", field=["input", "currency"]
        ) from None


def _new_order_payment(
    *,
    order_id: uuid.UUID,
    amount: int,
    currency: str,
    store_id: uuid.UUID | None,
    member_id: uuid.UUID | None,
    line_amounts: Mapping[uuid.UUID, int] | None,
    deposit_amount: int | None = None,
    balance_from: datetime | None = None,
) -> OrderPaymentInfo:
    """A new order payment, validated (``open_payment``'s errors)."""
    money = _money(amount, currency)
    if deposit_amount is not None and not 0 < deposit_amount < amount:
        raise UserInputError(
            "a deposit is more than nothing and less than the amount",
            code="INVALID_AMOUNT",
            field=["input", "depositAmount"],
        )
    lines = dict(line_amounts) if line_amounts else {order_id: amount}
    if len(lines) > MAX_LINES or any(v < 0 for v in lines.values()):
        raise UserInputError("bad line amounts", code="INVALID_LINES", field=["input", "lines"])
    if sum(lines.values()) != amount:
        raise UserInputError(
            "line amounts must add up to the amount", code="INVALID_LINES", field=["input", "lines"]
        )
    value = OrderPaymentInfo(
        id=new_id(),
        order_id=order_id,
        store_id=store_id,
        member_id=member_id,
        amount=money,
        paid_amount=0,
        refunded_amount=0,
        status=OrderPaymentStatus.OPEN,
        line_amounts=lines,
        created_at=datetime.now(UTC),
        paid_at=None,
        closed_at=None,
        deposit_amount=deposit_amount,
        balance_from=balance_from if deposit_amount is not None else None,
    )
    return value


def open_payment_in(
    batch: Batch,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    amount: int,
    currency: str,
    store_id: uuid.UUID | None,
    member_id: uuid.UUID | None,
    line_amounts: Mapping[uuid.UUID, int] | None,
    deposit_amount: int | None = None,
    balance_from: datetime | None = None,
    when: str = "true",
) -> OrderPaymentInfo:
    """``open_payment`` for an order written in the same batch (so none is open yet)."""
    value = _new_order_payment(
        order_id=order_id,
        amount=amount,
        currency=currency,
        store_id=store_id,
        member_id=member_id,
        line_amounts=line_amounts,
        deposit_amount=deposit_amount,
        balance_from=balance_from,
    )
    repository.add_order_payment(batch, tenant_id, value, when=when)
    return value


async def open_payment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    amount: int,
    currency: str,
    store_id: uuid.UUID | None,
    member_id: uuid.UUID | None,
    line_amounts: Mapping[uuid.UUID, int] | None,
    deposit_amount: int | None = None,
    balance_from: datetime | None = None,
) -> OrderPaymentInfo:
    value = _new_order_payment(
        order_id=order_id,
        amount=amount,
        currency=currency,
        store_id=store_id,
        member_id=member_id,
        line_amounts=line_amounts,
        deposit_amount=deposit_amount,
        balance_from=balance_from,
    )
    money, lines = value.amount, dict(value.line_amounts)
    if await repository.insert_order_payment(session, tenant_id, value):
        return value
    existing = await repository.order_payment_of(session, tenant_id, order_id)
    if existing is None:  # pragma: no cover - the insert saw it
        raise RuntimeError("order payment vanished")
    if (
        existing.amount != money
        or dict(existing.line_amounts) != lines
        or existing.deposit_amount != deposit_amount
    ):
        raise UserInputError(
            "this order's payment was opened with another amount",
            code="PAYMENT_MISMATCH",
            field=["input", "amount"],
        )
    return existing


async def record_channel_payment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    amount: int,
    currency: str,
    channel: str,
    reference: str,
    store_id: uuid.UUID | None,
    line_amounts: Mapping[uuid.UUID, int],
) -> OrderPaymentInfo:
    """The order's payment as a sales channel collected it: opened and ``PAID`` at once by
    one ``CHANNEL`` tender (provider = the channel, reference = its order id). Emits
    ``payment.succeeded`` but not ``payment.captured``: the importer moves the order."""
    await open_payment(
        session,
        tenant_id,
        order_id=order_id,
        amount=amount,
        currency=currency,
        store_id=store_id,
        member_id=None,
        line_amounts=line_amounts,
    )
    order = await _locked(session, tenant_id, order_id)
    if order.status is not OrderPaymentStatus.OPEN or order.paid_amount:
        return order  # recorded already
    now = datetime.now(UTC)
    tender = PaymentInfo(
        id=new_id(),
        tenant_id=tenant_id,
        order_id=order_id,
        tender=PaymentTender.CHANNEL,
        amount=order.amount,
        status=PaymentStatus.SUCCEEDED,
        provider_reference=reference[:128],
        created_at=now,
        provider=channel[:32],
        store_id=store_id,
        captured_at=now,
    )
    await repository.insert_payment(session, tender)
    await repository.update_order_payment(
        session,
        tenant_id,
        order_id,
        paid_amount=order.amount.amount,
        status=OrderPaymentStatus.PAID.value,
        paid_at=now,
    )
    await emit(
        session,
        tenant_id,
        PaymentSucceeded(
            payment_id=tender.id,
            order_id=order_id,
            tender=tender.tender.value,
            amount=tender.amount.amount,
            currency=tender.amount.currency,
        ),
    )
    return await _locked(session, tenant_id, order_id)


async def _locked(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> OrderPaymentInfo:
    found = await repository.order_payment_of(session, tenant_id, order_id, lock=True)
    if found is None:
        raise UserInputError(
            "this order has no payment", code="PAYMENT_NOT_FOUND", field=["input", "orderId"]
        )
    return found


async def close_payment(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, *, keep_paid: bool = False
) -> OrderPaymentInfo | None:
    """The order is cancelled: no further capture. Tenders already captured (a partial
    cash payment, say) are refunded; a provider payment still open is closed here and
    refunded if its success arrives later. ``keep_paid``: what was captured is kept (a
    presale deposit forfeited, 定金不退); pending tenders are still closed."""
    found = await repository.order_payment_of(session, tenant_id, order_id, lock=True)
    if found is None:
        return None
    if found.status is OrderPaymentStatus.PAID:
        raise UserInputError(
            "the order is paid: refund it instead", code="ALREADY_PAID", field=["input", "orderId"]
        )
    if found.status is OrderPaymentStatus.CLOSED:
        return found
    await _close_and_refund(session, tenant_id, found, keep_paid=keep_paid)
    return await repository.order_payment_of(session, tenant_id, order_id)


async def _close_and_refund(
    session: AsyncSession, tenant_id: uuid.UUID, found: OrderPaymentInfo, *, keep_paid: bool = False
) -> None:
    now = datetime.now(UTC)
    await repository.update_order_payment(
        session, tenant_id, found.order_id, status=OrderPaymentStatus.CLOSED.value, closed_at=now
    )
    tenders = (await repository.payments_by_order_ids(session, tenant_id, [found.order_id]))[
        found.order_id
    ]
    for tender in tenders:
        if tender.status is PaymentStatus.PENDING:
            await repository.update_payment(
                session, tenant_id, tender.id, status=PaymentStatus.CLOSED.value
            )
        elif (
            not keep_paid
            and tender.status is PaymentStatus.SUCCEEDED
            and tender.refunded_amount < tender.amount.amount
        ):
            await refunds.refund_whole_tender(session, tenant_id, found, tender, ORDER_CLOSED)


async def _capture(
    session: AsyncSession, tenant_id: uuid.UUID, tender: PaymentInfo, order: OrderPaymentInfo
) -> None:
    """``tender`` has been paid (money received). The order payment is locked."""
    now = datetime.now(UTC)
    await repository.update_payment(
        session, tenant_id, tender.id, status=PaymentStatus.SUCCEEDED.value, captured_at=now
    )
    captured = dataclasses.replace(tender, status=PaymentStatus.SUCCEEDED, captured_at=now)
    await emit(
        session,
        tenant_id,
        PaymentSucceeded(
            payment_id=tender.id,
            order_id=tender.order_id,
            tender=tender.tender.value,
            amount=tender.amount.amount,
            currency=tender.amount.currency,
        ),
    )
    due = order.stage_end - order.paid_amount
    if order.status is not OrderPaymentStatus.OPEN or tender.amount.amount > due:
        # Money arrived for an order that is closed, or more than it owes (two tenders
        # raced): keep none of it.
        reason = ORDER_CLOSED if order.status is not OrderPaymentStatus.OPEN else OVERPAID
        await refunds.refund_whole_tender(
            session, tenant_id, order, captured, reason, counted=False
        )
        return
    paid = order.paid_amount + tender.amount.amount
    await repository.update_order_payment(session, tenant_id, order.order_id, paid_amount=paid)
    stage_end = order.stage_end
    if paid < stage_end:
        return
    # A stage is complete: the whole amount, or a presale's deposit or balance.
    if order.deposit_amount is None:
        stage, stage_amount = STAGE_FULL, order.amount.amount
    elif stage_end == order.deposit_amount:
        stage, stage_amount = STAGE_DEPOSIT, order.deposit_amount
    else:
        stage, stage_amount = STAGE_BALANCE, order.amount.amount - order.deposit_amount
    try:
        async with session.begin_nested():
            if stage != STAGE_DEPOSIT:
                await repository.update_order_payment(
                    session,
                    tenant_id,
                    order.order_id,
                    status=OrderPaymentStatus.PAID.value,
                    paid_at=now,
                )
            await emit(
                session,
                tenant_id,
                PaymentCaptured(
                    order_id=order.order_id,
                    payment_id=order.id,
                    amount=stage_amount,
                    currency=order.amount.currency,
                    stage=stage,
                ),
            )
    except InvalidOperationError:
        # The order refused the payment (cancelled meanwhile): close and give it all back.
        fresh = await repository.order_payment_of(session, tenant_id, order.order_id)
        if fresh is not None:
            await _close_and_refund(session, tenant_id, fresh)


def _due_or_refuse(order: OrderPaymentInfo, amount: int) -> None:
    if order.status is OrderPaymentStatus.CLOSED:
        raise UserInputError("the order is closed", code="ORDER_CLOSED", field=["input", "orderId"])
    if order.status is OrderPaymentStatus.PAID:
        raise UserInputError("the order is paid", code="ALREADY_PAID", field=["input", "orderId"])
    if (
        order.deposit_amount is not None
        and order.paid_amount >= order.deposit_amount
        and order.balance_from is not None
        and datetime.now(UTC) < order.balance_from
    ):
        raise UserInputError(
            f"the balance can be paid from {order.balance_from.isoformat()}",
            code="BALANCE_NOT_OPEN",
            field=["input", "orderId"],
        )
    # A tender pays at most what the stage being paid still owes (a presale's deposit
    # first, then its balance; otherwise the whole amount).
    due = order.stage_end - order.paid_amount
    if amount > due:
        raise UserInputError(
            f"the order owes {due}", code="AMOUNT_EXCEEDS_DUE", field=["input", "amount"]
        )


async def take_cash(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    payment_id: uuid.UUID,
    order_id: uuid.UUID,
    money: Money,
) -> PaymentInfo:
    """Cash toward an order with an open payment (the caller claimed idempotency)."""
    order = await _locked(session, tenant_id, order_id)
    _due_or_refuse(order, money.amount)
    if money.currency != order.amount.currency:
        raise UserInputError(
            "the order is paid in another currency",
            code="INVALID_CURRENCY",
            field=["input", "currency"],
        )
    tender = PaymentInfo(
        id=payment_id,
        tenant_id=tenant_id,
        order_id=order_id,
        tender=PaymentTender.CASH,
        amount=money,
        status=PaymentStatus.PENDING,
        provider_reference=None,
        created_at=datetime.now(UTC),
        store_id=order.store_id,
    )
    await repository.insert_payment(session, tender)
    await _capture(session, tenant_id, tender, order)
    (stored,) = await repository.payments_by_ids(session, tenant_id, [payment_id])
    return stored


async def pay_with_points(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    payment_id: uuid.UUID,
    order_id: uuid.UUID,
    member_id: uuid.UUID,
    points: int,
) -> PaymentInfo:
    """Points as a tender (积分支付) at the tenant's redemption rate."""
    order = await _locked(session, tenant_id, order_id)
    terms = await points_api.redemption_terms(session, tenant_id, member_id)
    if terms is None:
        raise UserInputError(
            "this brand takes no points", code="POINTS_NOT_ACCEPTED", field=["input", "points"]
        )
    if points <= 0 or points % terms.unit_points:
        raise UserInputError(
            f"points are spent in multiples of {terms.unit_points}",
            code="INVALID_POINTS",
            field=["input", "points"],
        )
    amount = points // terms.unit_points * terms.unit_value
    _due_or_refuse(order, amount)
    # The brand's cap holds for points as a tender too: at most that share of the order.
    tenders = (await repository.payments_by_order_ids(session, tenant_id, [order_id]))[order_id]
    by_points = sum(
        t.amount.amount - t.refunded_amount
        for t in tenders
        if t.tender is PaymentTender.POINTS and t.status is PaymentStatus.SUCCEEDED
    )
    cap = order.amount.amount * terms.max_bp // 10_000
    if by_points + amount > cap:
        most = max(0, cap - by_points) // terms.unit_value * terms.unit_points
        raise UserInputError(
            f"at most {most} more points can pay this order",
            code="POINTS_CAP_EXCEEDED",
            field=["input", "points"],
        )
    tender = PaymentInfo(
        id=payment_id,
        tenant_id=tenant_id,
        order_id=order_id,
        tender=PaymentTender.POINTS,
        amount=Money(amount, order.amount.currency),
        status=PaymentStatus.PENDING,
        provider_reference=None,
        created_at=datetime.now(UTC),
        store_id=order.store_id,
        member_id=member_id,
        points=points,
    )
    await repository.insert_payment(session, tender)
    try:
        await points_api.spend_as_tender(
            session, tenant_id, member_id=member_id, payment_id=payment_id, points=points
        )
    except UserInputError as error:
        raise UserInputError(error.message, code=error.code, field=["input", "points"]) from None
    await _capture(session, tenant_id, tender, order)
    (stored,) = await repository.payments_by_ids(session, tenant_id, [payment_id])
    return stored


async def start_online_payment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    provider: str,
) -> OnlinePaymentStart:
    """Open a provider payment for what the order still owes (统一下单). Asking again
    while it is pending returns the same provider payment."""
    order = await _locked(session, tenant_id, order_id)
    adapter = await providers.provider_for(session, tenant_id, provider)
    if adapter is None:
        raise UserInputError(
            f"the brand has no {provider!r} account",
            code="PROVIDER_NOT_CONFIGURED",
            field=["input", "provider"],
        )
    due = order.stage_end - order.paid_amount
    _due_or_refuse(order, due)
    tenders = (await repository.payments_by_order_ids(session, tenant_id, [order_id]))[order_id]
    pending = [
        t
        for t in tenders
        if t.tender is PaymentTender.ONLINE
        and t.status is PaymentStatus.PENDING
        and t.provider == provider
        and t.amount.amount == due
    ]
    tender = pending[0] if pending else None
    if tender is None:
        tender = PaymentInfo(
            id=new_id(),
            tenant_id=tenant_id,
            order_id=order_id,
            tender=PaymentTender.ONLINE,
            amount=Money(due, order.amount.currency),
            status=PaymentStatus.PENDING,
            provider_reference=None,
            created_at=datetime.now(UTC),
            provider=provider,
            store_id=order.store_id,
        )
        await repository.insert_payment(session, tender)
    try:
        opened = await adapter.create_payment(
            ProviderPaymentRequest(
                payment_id=tender.id,
                order_id=order_id,
                amount=tender.amount,
                description=f"order {order_id}",
            )
        )
    except Exception as error:
        # A provider that is down must not fail the request with a 500: nothing was
        # written that the retry would not reuse (same payment id, idempotent provider).
        raise UserInputError(
            f"the payment provider is unavailable ({type(error).__name__}); try again",
            code="PROVIDER_UNAVAILABLE",
            field=["input", "provider"],
        ) from None
    await repository.update_payment(
        session, tenant_id, tender.id, provider_reference=opened.provider_reference
    )
    (stored,) = await repository.payments_by_ids(session, tenant_id, [tender.id])
    return OnlinePaymentStart(payment=stored, client_parameters=dict(opened.client_parameters))


async def handle_callback(
    session: AsyncSession, tenant_id: uuid.UUID, provider: str, callback: ProviderCallback
) -> str:
    """Apply a verified provider notification, once per notification id. Returns
    ``"processed"``, ``"duplicate"`` or ``"ignored"`` (stale, e.g. a failure after a
    success). Raises ``NotFoundError`` when what it is about is not (yet) ours: the
    provider delivers again later."""
    now = datetime.now(UTC)
    if not await repository.claim_notification(
        session, tenant_id, provider, callback.notification_id, now
    ):
        return "duplicate"
    if callback.kind is CallbackKind.REFUND:
        return await refunds.settle_refund(session, tenant_id, callback)
    # Lock order: the order payment first, then the tender (as every other path does).
    seen = await repository.payments_by_ids(session, tenant_id, [callback.payment_id])
    if not seen or seen[0].provider != provider:
        raise NotFoundError("no such payment")
    order = await repository.order_payment_of(session, tenant_id, seen[0].order_id, lock=True)
    tender = await repository.payment_for_update(session, tenant_id, callback.payment_id)
    if order is None or tender is None:  # pragma: no cover - online payments have both
        raise NotFoundError("no such payment")
    if callback.amount != tender.amount:
        # Never capture an amount we did not ask for; the provider must be told (alarm).
        raise InvalidOperationError("the notified amount differs from the payment")
    if not callback.succeeded:
        if tender.status is PaymentStatus.PENDING:
            await repository.update_payment(
                session, tenant_id, tender.id, status=PaymentStatus.FAILED.value
            )
            return "processed"
        return "ignored"  # a late failure after a success, or after close
    if tender.status not in (PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.CLOSED):
        return "ignored"  # captured already (another notification for the same payment)
    await repository.update_payment(
        session, tenant_id, tender.id, provider_reference=callback.provider_reference
    )
    # The money is real whatever our state said (a success after a failure, or after
    # the order closed): capture it, and refund it when the order cannot keep it.
    await _capture(session, tenant_id, tender, order)
    return "processed"


MAX_STORED_VALUE = 10**10  # ¥100M in minor units: a guard against typos


async def top_up_stored_value(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    key: str,
    member_id: uuid.UUID,
    amount: int,
    currency: str,
) -> StoredValueEntryInfo:
    """Money put on a member's stored value (储值充值), once per ``key``."""
    money = _money(amount, currency)
    source = f"top-up:{key}"
    claim = await idempotency.claim(
        session,
        tenant_id,
        "payment.top_up",
        key,
        {"member": member_id, "amount": money.amount, "currency": money.currency},
        new_id(),
    )
    if claim.replayed:
        first = await repository.stored_value_entry_by_source(session, tenant_id, source)
        if first is None:  # pragma: no cover - the claim and the entry commit together
            raise RuntimeError("top-up vanished")
        return first
    if await member_api.get_member(session, tenant_id, member_id) is None:
        raise UserInputError(
            "member not found", code="MEMBER_NOT_FOUND", field=["input", "memberId"]
        )
    entry = await repository.change_stored_value(
        session,
        tenant_id,
        member_id=member_id,
        delta=money.amount,
        currency=money.currency,
        reason="top-up",
        source_key=source,
        max_balance=MAX_STORED_VALUE,
        at=datetime.now(UTC),
    )
    if entry is None:
        raise UserInputError(
            f"a stored value holds at most {MAX_STORED_VALUE} in its own currency",
            code="BALANCE_LIMIT",
            field=["input", "amount"],
        )
    return entry


async def pay_with_stored_value(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    payment_id: uuid.UUID,
    order_id: uuid.UUID,
    member_id: uuid.UUID,
    amount: int,
) -> PaymentInfo:
    """The member's stored value as a tender (储值支付)."""
    order = await _locked(session, tenant_id, order_id)
    money = _money(amount, order.amount.currency)
    _due_or_refuse(order, money.amount)
    tender = PaymentInfo(
        id=payment_id,
        tenant_id=tenant_id,
        order_id=order_id,
        tender=PaymentTender.STORED_VALUE,
        amount=money,
        status=PaymentStatus.PENDING,
        provider_reference=None,
        created_at=datetime.now(UTC),
        store_id=order.store_id,
        member_id=member_id,
    )
    await repository.insert_payment(session, tender)
    taken = await repository.change_stored_value(
        session,
        tenant_id,
        member_id=member_id,
        delta=-money.amount,
        currency=money.currency,
        reason="paid an order",
        source_key=f"payment:{payment_id}",
        max_balance=MAX_STORED_VALUE,
        at=datetime.now(UTC),
    )
    if taken is None:
        raise UserInputError(
            "not enough stored value", code="INSUFFICIENT_BALANCE", field=["input", "amount"]
        )
    await _capture(session, tenant_id, tender, order)
    (stored,) = await repository.payments_by_ids(session, tenant_id, [payment_id])
    return stored
