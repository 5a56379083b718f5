"""Durable jobs and in-transaction event handlers of the order center."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from centers.order import groups, refunds, repository, transitions
from centers.order.machine import Actor
from kernel.errors import InvalidOperationError, UserInputError
from kernel.jobs import JobHandler
from kernel.outbox import EventHandler


class OrderNotPayable(InvalidOperationError):
    """Raised to the payment center when a captured payment cannot pay the order
    (cancelled meanwhile, or the amount is not what is owed): payment refunds it."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


async def payment_timeout(
    session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]
) -> None:
    """Cancel the order if it is still unpaid; a paid or cancelled order is left alone."""
    try:
        await transitions.apply_event(
            session,
            tenant_id,
            uuid.UUID(str(payload["order_id"])),
            "TIMEOUT",
            actor="system:payment-timeout",
            actor_kind=Actor.SYSTEM,
            idempotency_key="payment-timeout",
        )
    except UserInputError as error:
        if error.code not in ("INVALID_TRANSITION", "ORDER_NOT_FOUND"):
            raise


async def balance_timeout(
    session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]
) -> None:
    """Cancel a presale order whose balance was not paid in time (the deposit is kept);
    an order paid or cancelled meanwhile is left alone."""
    try:
        await transitions.apply_event(
            session,
            tenant_id,
            uuid.UUID(str(payload["order_id"])),
            "BALANCE_TIMEOUT",
            actor="system:balance-timeout",
            actor_kind=Actor.SYSTEM,
            idempotency_key="balance-timeout",
        )
    except UserInputError as error:
        if error.code not in ("INVALID_TRANSITION", "ORDER_NOT_FOUND"):
            raise


async def group_expire(
    session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]
) -> None:
    """A group's window ended: fail it if short, one follow-up job per member order."""
    await groups.expire(session, tenant_id, payload, datetime.now(UTC))


async def group_member_failed(
    session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]
) -> None:
    """A member order of a failed group: an unpaid one is cancelled (stock, coupons,
    points back); a paid one is refunded in full, delivery fee included, and its units
    go back on hand (after-sale kind GROUP_BUY_FAILED), which closes it."""
    order_id = uuid.UUID(str(payload["order_id"]))
    found = await repository.orders_by_ids(session, tenant_id, [order_id], None)
    if not found:
        return
    order = found[0]
    if order.status in ("PLACED", "PENDING_REVIEW"):
        try:
            await transitions.apply_event(
                session,
                tenant_id,
                order_id,
                "CANCEL",
                actor="system:group-buy",
                actor_kind=Actor.SYSTEM,
                reason="group buy failed",
                idempotency_key="group-buy-failed",
            )
        except UserInputError as error:
            if error.code != "INVALID_TRANSITION":  # paid a moment ago: the next run refunds
                raise
            raise InvalidOperationError("the order changed; try again") from error
    elif order.status == "PAID":
        await refunds.request_refund(
            session,
            tenant_id,
            order_id,
            kind="GROUP_BUY_FAILED",
            lines=None,
            reason="group buy failed",
            actor="system:group-buy",
            actor_kind=Actor.SYSTEM,
            idempotency_key=f"group-buy-failed:{order_id}",
            delivery_fee=order.delivery_fee > 0,
        )


async def complete_after_sale_window(
    session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]
) -> None:
    """Complete a received order once its after-sale window has passed."""
    try:
        await transitions.apply_event(
            session,
            tenant_id,
            uuid.UUID(str(payload["order_id"])),
            "COMPLETE",
            actor="system:after-sale-window",
            actor_kind=Actor.SYSTEM,
            idempotency_key="after-sale-complete",
            as_of=datetime.fromisoformat(str(payload["due_at"])),
        )
    except UserInputError as error:
        if error.code not in ("INVALID_TRANSITION", "ORDER_NOT_FOUND"):
            raise


async def payment_captured(
    session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]
) -> None:
    """``payment.captured`` → the order's ``PAY`` event, in the capturing transaction."""
    key = payload.get("payment_id") or payload.get("id")
    stage = str(payload.get("stage") or "FULL")
    if key and stage != "FULL":
        key = f"{key}:{stage}"  # a presale payment is captured twice: deposit, balance
    try:
        await transitions.apply_event(
            session,
            tenant_id,
            uuid.UUID(str(payload["order_id"])),
            "PAY",
            actor="system:payment",
            actor_kind=Actor.SYSTEM,
            idempotency_key=f"payment:{key}" if key else None,
            amount=int(payload["amount"]),
        )
    except UserInputError as error:
        raise OrderNotPayable(error.message, error.code) from error


async def order_lines_refunded(
    session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]
) -> None:
    """The payment center refunded amounts of the order's lines (after-sale or a direct
    ``refundPayment``): count them on the lines, in the same transaction (decision 0080)."""
    await refunds.count_refund(
        session,
        tenant_id,
        uuid.UUID(str(payload["order_id"])),
        {uuid.UUID(str(k)): int(v) for k, v in dict(payload["line_amounts"]).items()},
        request_key=str(payload["request_key"]),
    )


async def order_lines_refund_failed(
    session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]
) -> None:
    """The provider refused a refund the order had counted: take it off the lines again
    and let the after-sale request it came from wait for a retry, in this transaction."""
    await refunds.uncount_refused_refund(
        session,
        tenant_id,
        uuid.UUID(str(payload["order_id"])),
        {uuid.UUID(str(k)): int(v) for k, v in dict(payload["line_amounts"]).items()},
        request_key=str(payload["request_key"]),
        amount=int(payload["amount"]),
    )


JOB_HANDLERS: dict[str, JobHandler] = {
    transitions.JOB_PAYMENT_TIMEOUT: payment_timeout,
    transitions.JOB_COMPLETE: complete_after_sale_window,
    transitions.JOB_BALANCE_TIMEOUT: balance_timeout,
    groups.JOB_GROUP_EXPIRE: group_expire,
    groups.JOB_GROUP_MEMBER_FAILED: group_member_failed,
}
EVENT_HANDLERS: dict[str, EventHandler] = {
    "payment.captured": payment_captured,
    "payment.order_lines_refunded": order_lines_refunded,
    "payment.order_lines_refund_failed": order_lines_refund_failed,
}
