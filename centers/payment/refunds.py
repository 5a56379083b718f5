"""Refunds (退款) to the original tenders, by allocated line amounts. Never commits.

A refund request names amounts per order line. Each line's amount is split over the
tenders that paid that line (see ``allocation``), so nothing goes back beyond what a
tender paid on a line, and one refund record per tender goes back the way the money
came: cash at the till, points to the member's lots, online through the provider
(settled by its callback). Idempotent per (order, key).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.payment import allocation, providers, repository
from centers.payment.dto import (
    OrderPaymentInfo,
    OrderPaymentStatus,
    PaymentInfo,
    PaymentStatus,
    PaymentTender,
    ProviderCallback,
    ProviderRefundRequest,
    RefundInfo,
    RefundStatus,
)
from centers.payment.events import OrderLinesRefunded, OrderLinesRefundFailed, PaymentRefunded
from centers.points import api as points_api
from kernel import idempotency
from kernel.errors import NotFoundError, UserInputError
from kernel.ids import new_id
from kernel.money import Money
from kernel.outbox import emit

MAX_REASON = 200
# A refund restores what was paid; it may lift a balance past the top-up guard.
MAX_REFUND_BALANCE = 10**12


def _captured(tenders: list[PaymentInfo]) -> list[PaymentInfo]:
    """Tenders that count toward the order, in capture order."""
    counted = [
        t
        for t in tenders
        if t.captured_at is not None
        and t.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED)
    ]
    return sorted(counted, key=lambda t: (t.captured_at, t.id))


async def _cells(
    session: AsyncSession, tenant_id: uuid.UUID, order: OrderPaymentInfo
) -> tuple[list[PaymentInfo], dict[allocation.Cell, int], dict[allocation.Cell, int]]:
    tenders = (await repository.payments_by_order_ids(session, tenant_id, [order.order_id]))[
        order.order_id
    ]
    done = await repository.refunds_of_order(session, tenant_id, order.order_id)
    counted_ids = {r.payment_id for r in done if r.line_amounts}
    # A tender refunded whole because the order could not keep it (overpaid, closed
    # before capture) never paid a line: it is not laid over the lines.
    counted = [
        t
        for t in _captured(tenders)
        if not any(
            r.payment_id == t.id and not r.line_amounts and r.status is not RefundStatus.FAILED
            for r in done
        )
        or t.id in counted_ids
    ]
    paid = allocation.paid_cells(
        sorted(order.line_amounts.items(), key=lambda item: str(item[0])),
        [(t.id, t.amount.amount) for t in counted],
    )
    refunded: dict[allocation.Cell, int] = {}
    for r in done:
        if r.status is RefundStatus.FAILED:
            continue
        for line_id, amount in r.line_amounts.items():
            cell = (line_id, r.payment_id)
            refunded[cell] = refunded.get(cell, 0) + amount
    return counted, paid, refunded


async def _execute(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order: OrderPaymentInfo,
    tender: PaymentInfo,
    *,
    amount: int,
    lines: Mapping[uuid.UUID, int],
    reason: str,
    request_key: str,
    counted: bool,
) -> RefundInfo:
    now = datetime.now(UTC)
    refund_id = new_id()
    status = RefundStatus.SUCCEEDED
    reference: str | None = None
    if tender.tender is PaymentTender.POINTS:
        final = tender.refunded_amount + amount >= tender.amount.amount
        points = None if final else amount * (tender.points or 0) // tender.amount.amount
        if points is None or points > 0:
            await points_api.refund_tender(
                session,
                tenant_id,
                payment_id=tender.id,
                refund_id=refund_id,
                points=points if points is not None else tender.points or 0,
            )
    elif tender.tender is PaymentTender.STORED_VALUE and tender.member_id is not None:
        back = await repository.change_stored_value(
            session,
            tenant_id,
            member_id=tender.member_id,
            delta=amount,
            currency=tender.amount.currency,
            reason="refund",
            source_key=f"refund:{refund_id}",
            max_balance=MAX_REFUND_BALANCE,
            at=now,
        )
        if back is None:  # pragma: no cover - the account paid this much, in this currency
            raise RuntimeError("stored value refund refused")
    elif tender.tender is PaymentTender.ONLINE:
        adapter = (
            await providers.provider_for(session, tenant_id, tender.provider)
            if tender.provider
            else None
        )
        if adapter is None or tender.provider_reference is None:
            raise UserInputError(
                "the provider of this payment is not configured any more",
                code="PROVIDER_NOT_CONFIGURED",
            )
        try:
            answer = await adapter.refund(
                ProviderRefundRequest(
                    refund_id=refund_id,
                    payment_id=tender.id,
                    provider_reference=tender.provider_reference,
                    amount=Money(amount, tender.amount.currency),
                    reason=reason,
                )
            )
        except Exception as error:
            raise UserInputError(
                f"the payment provider is unavailable ({type(error).__name__}); try again",
                code="PROVIDER_UNAVAILABLE",
            ) from None
        reference = answer.provider_refund_reference
        status = RefundStatus.SUCCEEDED if answer.succeeded else RefundStatus.PENDING
    value = RefundInfo(
        id=refund_id,
        order_id=order.order_id,
        payment_id=tender.id,
        tender=tender.tender,
        request_key=request_key,
        amount=Money(amount, tender.amount.currency),
        reason=reason,
        status=status,
        provider_reference=reference,
        line_amounts=dict(lines),
        created_at=now,
        completed_at=now if status is RefundStatus.SUCCEEDED else None,
    )
    await repository.insert_refund(session, tenant_id, value, order.store_id)
    refunded = tender.refunded_amount + amount
    await repository.update_payment(
        session,
        tenant_id,
        tender.id,
        refunded_amount=refunded,
        status=(
            PaymentStatus.REFUNDED.value
            if refunded >= tender.amount.amount
            else tender.status.value
        ),
    )
    if counted:
        await repository.update_order_payment(
            session,
            tenant_id,
            order.order_id,
            refunded_amount=order.refunded_amount + amount,
        )
    await emit(
        session,
        tenant_id,
        PaymentRefunded(
            refund_id=refund_id,
            order_id=order.order_id,
            payment_id=tender.id,
            tender=tender.tender.value,
            amount=amount,
            currency=tender.amount.currency,
            reason=reason,
            status=status.value,
        ),
    )
    return value


async def refund_whole_tender(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order: OrderPaymentInfo,
    tender: PaymentInfo,
    reason: str,
    *,
    counted: bool = True,
) -> RefundInfo | None:
    """Give back all that is left of ``tender`` (the order payment is locked)."""
    left = tender.amount.amount - tender.refunded_amount
    if left <= 0:
        return None
    lines: dict[uuid.UUID, int] = {}
    if counted:
        _, paid, refunded = await _cells(session, tenant_id, order)
        lines = {
            line: amount - refunded.get((line, pid), 0)
            for (line, pid), amount in paid.items()
            if pid == tender.id and amount - refunded.get((line, pid), 0) > 0
        }
    fresh = await repository.order_payment_of(session, tenant_id, order.order_id)
    return await _execute(
        session,
        tenant_id,
        fresh or order,
        tender,
        amount=left,
        lines=lines,
        reason=reason,
        request_key=f"{reason}:{tender.id}",
        counted=counted,
    )


async def refund(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    key: str,
    line_amounts: Mapping[uuid.UUID, int],
    reason: str,
) -> list[RefundInfo]:
    if not line_amounts:
        raise UserInputError("name the lines to refund", code="NO_LINES", field=["input", "lines"])
    reason = reason.strip() or "refund"
    if len(reason) > MAX_REASON or not reason.isprintable():
        raise UserInputError(
            f"reason is at most {MAX_REASON} printable characters",
            code="INVALID_REASON",
            field=["input", "reason"],
        )
    claim = await idempotency.claim(
        session,
        tenant_id,
        "payment.refund",
        f"{order_id}:{key}",
        {"lines": {str(k): v for k, v in sorted(line_amounts.items(), key=lambda i: str(i[0]))}},
        new_id(),
    )
    if claim.replayed:
        done = await repository.refunds_of_order(session, tenant_id, order_id)
        return [r for r in done if r.request_key == key]
    order = await repository.order_payment_of(session, tenant_id, order_id, lock=True)
    if order is None:
        raise UserInputError(
            "this order has no payment", code="PAYMENT_NOT_FOUND", field=["input", "orderId"]
        )
    if order.status is not OrderPaymentStatus.PAID:
        raise UserInputError(
            "only a paid order is refunded (a cancelled one was refunded when it closed)",
            code="NOT_REFUNDABLE",
            field=["input", "orderId"],
        )
    unknown = [line for line in line_amounts if line not in order.line_amounts]
    if unknown:
        raise UserInputError(
            f"line {unknown[0]} is not on this order",
            code="LINE_NOT_FOUND",
            field=["input", "lines", str(unknown[0])],
        )
    counted, paid, refunded = await _cells(session, tenant_id, order)
    cells = allocation.split_refund(line_amounts, paid, refunded, [t.id for t in counted])
    made: list[RefundInfo] = []
    for tender in counted:
        lines = {line: amount for (line, pid), amount in cells.items() if pid == tender.id}
        if not lines:
            continue
        current = await repository.payment_for_update(session, tenant_id, tender.id)
        fresh = await repository.order_payment_of(session, tenant_id, order_id)
        made.append(
            await _execute(
                session,
                tenant_id,
                fresh or order,
                current or tender,
                amount=sum(lines.values()),
                lines=lines,
                reason=reason,
                request_key=key,
                counted=True,
            )
        )
    total = sum(r.amount.amount for r in made)
    refunded_lines: dict[str, int] = {}
    for made_refund in made:
        for line_id, amount in made_refund.line_amounts.items():
            refunded_lines[str(line_id)] = refunded_lines.get(str(line_id), 0) + amount
    # The order counts the refund on its lines in this same transaction (decision 0080).
    await emit(
        session,
        tenant_id,
        OrderLinesRefunded(
            order_id=order_id,
            request_key=key,
            reason=reason,
            amount=total,
            currency=order.amount.currency,
            line_amounts=refunded_lines,
        ),
    )
    # Points the order earned go back in proportion; points it redeemed come back too.
    await points_api.reverse_for_refund(
        session,
        tenant_id,
        order_id=order_id,
        refund_key=key,
        refunded_amount=total,
        paid_amount=order.amount.amount,
    )
    return made


async def settle_refund(
    session: AsyncSession, tenant_id: uuid.UUID, callback: ProviderCallback
) -> str:
    """The provider's word on a refund we asked for."""
    if callback.refund_id is None:
        raise NotFoundError("no refund id")
    peek = await repository.order_of_refund(session, tenant_id, callback.refund_id)
    if peek is None:
        raise NotFoundError("no such refund")  # not committed yet: delivered again later
    # Lock order: the order payment first, then the refund (as every other path does).
    order = await repository.order_payment_of(session, tenant_id, peek, lock=True)
    seen = await repository.refund_for_update(session, tenant_id, callback.refund_id)
    if seen is None:  # pragma: no cover - refunds are never deleted
        raise NotFoundError("no such refund")
    if seen["status"] != RefundStatus.PENDING.value:
        return "ignored"
    now = datetime.now(UTC)
    if callback.succeeded:
        await repository.update_refund(
            session,
            tenant_id,
            callback.refund_id,
            status=RefundStatus.SUCCEEDED.value,
            completed_at=now,
            provider_reference=callback.provider_reference,
        )
        return "processed"
    # Refused by the provider: the money is still ours to give back; undo the counters
    # so the amount can be refunded again (by another way if need be).
    tender = await repository.payment_for_update(session, tenant_id, seen["payment_id"])
    await repository.update_refund(
        session, tenant_id, callback.refund_id, status=RefundStatus.FAILED.value, completed_at=now
    )
    if tender is not None:
        await repository.update_payment(
            session,
            tenant_id,
            tender.id,
            refunded_amount=tender.refunded_amount - seen["amount"],
            status=PaymentStatus.SUCCEEDED.value,
        )
    # Only a refund laid over lines counted toward the order's refunded amount (a whole
    # tender the order never kept did not).
    lines = await repository.refund_line_amounts(session, tenant_id, callback.refund_id)
    if order is not None and lines:
        await repository.update_order_payment(
            session,
            tenant_id,
            order.order_id,
            refunded_amount=order.refunded_amount - seen["amount"],
        )
        # The order takes the amounts off its lines again in this transaction, and the
        # member gets back the points the refund had taken (both undone exactly once:
        # a refund leaves PENDING once).
        await emit(
            session,
            tenant_id,
            OrderLinesRefundFailed(
                order_id=order.order_id,
                request_key=seen["request_key"],
                refund_id=callback.refund_id,
                amount=seen["amount"],
                currency=order.amount.currency,
                line_amounts={str(line): amount for line, amount in lines.items()},
            ),
        )
        await points_api.undo_refund_reversal(
            session,
            tenant_id,
            order_id=order.order_id,
            refund_key=seen["request_key"],
            failed_key=str(callback.refund_id),
            failed_amount=seen["amount"],
            paid_amount=order.amount.amount,
        )
    return "processed"
