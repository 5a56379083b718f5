"""After-sale (售后): refund only, return and refund, out of stock; by line amounts.

A request locks its order, so concurrent requests can never promise more than a line
was paid. Money goes back through the payment center to the original tenders, by line;
partial refunds keep the promotion and refund the allocated line amounts. Returned
goods are restocked after inspection. Each request follows its kind's state machine
(``machine/refunds.py``) and leaves entries in the order's history.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.order import repository, transitions
from centers.order.dto import (
    OrderInfo,
    RefundInfo,
    RefundLineInfo,
    RefundLineRequest,
    delivery_fee_id,
    order_line_id,
)
from centers.order.events import OrderRefundChanged
from centers.order.machine import Actor, machine_for
from centers.order.machine.refunds import REFUND_MACHINES
from centers.payment import api as payment_api
from centers.stock import api as stock_api
from kernel import idempotency
from kernel.errors import ForbiddenError, UserInputError
from kernel.ids import new_id
from kernel.money import Money
from kernel.outbox import emit

MAX_REASON = 200
# Refund kinds only the system opens (and approves at once).
SYSTEM_KINDS = frozenset({"GROUP_BUY_FAILED"})
# A refund line with this number is the order's delivery fee (运费), not a goods line.
DELIVERY_FEE_LINE = 0
# After these states the goods are gone or the window is over: no new request.
NOT_REFUNDABLE = frozenset({"PLACED", "PENDING_REVIEW", "CANCELLED", "COMPLETED"})


def _reason(reason: str) -> str:
    cleaned = reason.strip()
    if len(cleaned) > MAX_REASON:
        raise UserInputError(
            f"reason is at most {MAX_REASON} characters",
            code="INVALID_REASON",
            field=["input", "reason"],
        )
    return cleaned


async def request_refund(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    *,
    kind: str,
    lines: Sequence[RefundLineRequest] | None,
    reason: str,
    actor: str,
    actor_kind: Actor,
    idempotency_key: str,
    buyer: str | None = None,
    delivery_fee: bool = False,
) -> tuple[RefundInfo, bool]:
    """Open an after-sale request; ``lines=None`` asks for everything still refundable.
    ``delivery_fee``: also refund what is left of the delivery fee (a refund line
    numbered ``DELIVERY_FEE_LINE``). Returns ``(request, replayed)``. Out-of-stock
    requests are staff's and refund at once.
    """
    machine = REFUND_MACHINES.get(kind)
    if machine is None:
        raise UserInputError(f"unknown kind {kind!r}", code="UNKNOWN_KIND", field=["input", "kind"])
    if kind == "OUT_OF_STOCK" and actor_kind is Actor.BUYER:
        raise ForbiddenError("out-of-stock refunds are reported by the store")
    if kind in SYSTEM_KINDS and actor_kind is not Actor.SYSTEM:
        raise ForbiddenError(f"{kind} refunds are made by the system")
    reason = _reason(reason)
    refund_id = new_id()
    claim = await idempotency.claim(
        session,
        tenant_id,
        "order.refund",
        idempotency_key,
        {
            "order": order_id,
            "kind": kind,
            "lines": [[x.line_no, x.quantity, x.amount] for x in lines or []] if lines else None,
            "actor": actor,
            **({"delivery_fee": True} if delivery_fee else {}),
        },
        refund_id,
    )
    if claim.replayed:
        found = await repository.refund_by_id(session, tenant_id, claim.result_id, None)
        if found is None:
            raise RuntimeError("a claimed refund id has no refund")
        return found, True
    order = await repository.lock_order(session, tenant_id, order_id, buyer)
    if order is None:
        raise UserInputError("order not found", code="ORDER_NOT_FOUND", field=["input", "orderId"])
    if order.status == "COMPLETED":
        raise UserInputError(
            "the after-sale window of this order is over",
            code="AFTER_SALE_WINDOW_CLOSED",
            field=["input", "orderId"],
        )
    if order.paid_amount <= 0 or order.status in NOT_REFUNDABLE:
        raise UserInputError(
            f"nothing was paid on a {order.status} order",
            code="NOT_REFUNDABLE",
            field=["input", "orderId"],
        )
    if delivery_fee and kind == "EXCHANGE":
        raise UserInputError(
            "an exchange moves no money", code="INVALID_KIND", field=["input", "deliveryFee"]
        )
    wanted = (
        await _exchange_lines(session, tenant_id, order, lines)
        if kind == "EXCHANGE"
        else await _lines(session, tenant_id, order, lines, allow_empty=delivery_fee)
    )
    if delivery_fee:
        wanted.append(await _delivery_fee_line(session, tenant_id, order))
    now = datetime.now(UTC)
    refund = RefundInfo(
        id=refund_id,
        order_id=order_id,
        kind=kind,
        status=machine.initial,
        amount=Money(sum(x.amount for x in wanted), order.currency),
        reason=reason,
        note="",
        requested_by=actor,
        requested_at=now,
        updated_at=now,
        lines=tuple(wanted),
    )
    await repository.insert_refund(session, tenant_id, refund)
    await _record(session, tenant_id, order, refund, "REQUEST", None, actor, reason, now)
    if kind == "OUT_OF_STOCK" or kind in SYSTEM_KINDS:
        refund = await apply_refund_event(
            session, tenant_id, refund_id, "APPROVE", actor=actor, actor_kind=actor_kind
        )
    return refund, False


async def _lines(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order: OrderInfo,
    requested: Sequence[RefundLineRequest] | None,
    *,
    allow_empty: bool = False,
) -> list[RefundLineInfo]:
    """Validate against what each line can still refund (paid − refunded − pending)."""
    stored = {
        line.line_no: line
        for _, line in await repository.lines_by_orders(session, tenant_id, [order.id])
    }
    pending: dict[int, int] = {}
    for other in await repository.refunds_of_orders(session, tenant_id, [order.id]):
        if other.status in repository.OPEN_REFUND_STATUSES:
            for line in other.lines:
                pending[line.line_no] = pending.get(line.line_no, 0) + line.amount

    def left(line_no: int) -> int:
        line = stored[line_no]
        paid = line.payable.amount if line.payable else 0
        refunded = line.refunded.amount if line.refunded else 0
        return paid - refunded - pending.get(line_no, 0)

    if requested is None:
        result = [
            RefundLineInfo(line_no=n, quantity=stored[n].quantity, amount=left(n))
            for n in sorted(stored)
            if left(n) > 0
        ]
    else:
        result = []
        seen: set[int] = set()
        for index, ask in enumerate(requested):
            field = ["input", "lines", str(index)]
            if ask.line_no not in stored or ask.line_no in seen:
                raise UserInputError(
                    "no such line (or named twice)", code="LINE_NOT_FOUND", field=[*field, "lineNo"]
                )
            seen.add(ask.line_no)
            if not 0 <= ask.quantity <= stored[ask.line_no].quantity:
                raise UserInputError(
                    "quantity must be between 0 and the line's quantity",
                    code="INVALID_QUANTITY",
                    field=[*field, "quantity"],
                )
            if ask.amount is None and left(ask.line_no) <= 0:
                # "All that is left" of a line already refunded (or claimed by an open
                # request): nothing to give back, not a bad amount the caller typed.
                raise UserInputError(
                    "nothing is left to refund on this line",
                    code="NOTHING_TO_REFUND",
                    field=[*field, "lineNo"],
                )
            amount = left(ask.line_no) if ask.amount is None else ask.amount
            if amount <= 0:
                raise UserInputError(
                    "the amount must be positive", code="INVALID_AMOUNT", field=[*field, "amount"]
                )
            if amount > left(ask.line_no):
                raise UserInputError(
                    f"at most {left(ask.line_no)} can still be refunded on this line",
                    code="REFUND_EXCEEDS_PAID",
                    field=[*field, "amount"],
                )
            result.append(RefundLineInfo(line_no=ask.line_no, quantity=ask.quantity, amount=amount))
    if not result and not allow_empty:
        raise UserInputError(
            "nothing is left to refund", code="NOTHING_TO_REFUND", field=["input", "lines"]
        )
    return result


async def _delivery_fee_line(
    session: AsyncSession, tenant_id: uuid.UUID, order: OrderInfo
) -> RefundLineInfo:
    """What is left of the delivery fee: the fee − what was refunded of it (the order's
    refunded amount beyond its goods lines) − what open requests already claim."""
    stored = [line for _, line in await repository.lines_by_orders(session, tenant_id, [order.id])]
    goods_refunded = sum(line.refunded.amount for line in stored if line.refunded is not None)
    refunded = order.refunded_amount - goods_refunded
    pending = sum(
        line.amount
        for other in await repository.refunds_of_orders(session, tenant_id, [order.id])
        if other.status in repository.OPEN_REFUND_STATUSES
        for line in other.lines
        if line.line_no == DELIVERY_FEE_LINE
    )
    left = order.delivery_fee - refunded - pending
    if left <= 0:
        raise UserInputError(
            "no delivery fee is left to refund",
            code="NOTHING_TO_REFUND",
            field=["input", "deliveryFee"],
        )
    return RefundLineInfo(line_no=DELIVERY_FEE_LINE, quantity=0, amount=left)


async def _exchange_lines(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order: OrderInfo,
    requested: Sequence[RefundLineRequest] | None,
) -> list[RefundLineInfo]:
    """An exchange names lines and units; no money moves, so amounts are zero."""
    if not requested:
        raise UserInputError(
            "name the lines and units to exchange", code="NO_LINES", field=["input", "lines"]
        )
    stored = {
        line.line_no: line
        for _, line in await repository.lines_by_orders(session, tenant_id, [order.id])
    }
    result: list[RefundLineInfo] = []
    for index, ask in enumerate(requested):
        field = ["input", "lines", str(index)]
        if ask.line_no not in stored or any(r.line_no == ask.line_no for r in result):
            raise UserInputError(
                "no such line (or named twice)", code="LINE_NOT_FOUND", field=[*field, "lineNo"]
            )
        if not 1 <= ask.quantity <= stored[ask.line_no].quantity:
            raise UserInputError(
                "quantity must be between 1 and the line's quantity",
                code="INVALID_QUANTITY",
                field=[*field, "quantity"],
            )
        result.append(RefundLineInfo(line_no=ask.line_no, quantity=ask.quantity, amount=0))
    return result


async def apply_refund_event(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    refund_id: uuid.UUID,
    event: str,
    *,
    actor: str,
    actor_kind: Actor,
    reason: str = "",
    buyer: str | None = None,
) -> RefundInfo:
    """Move an after-sale request by its kind's machine (``INVALID_TRANSITION`` if not
    possible now); the refund and restock effects run in the caller's transaction."""
    reason = _reason(reason)
    found = await repository.refund_by_id(session, tenant_id, refund_id, buyer)
    if found is None:
        raise UserInputError(
            "refund not found", code="REFUND_NOT_FOUND", field=["input", "refundId"]
        )
    # The order's row lock serialises everything about its money and its requests.
    order = await repository.lock_order(session, tenant_id, found.order_id, None)
    refund = await repository.refund_by_id(session, tenant_id, refund_id, None)
    if order is None or refund is None:
        raise UserInputError(
            "refund not found", code="REFUND_NOT_FOUND", field=["input", "refundId"]
        )
    transition = REFUND_MACHINES[refund.kind].find(refund.status, event)
    if transition is None:
        raise UserInputError(
            f"{event} is not possible for a {refund.kind} request in status {refund.status}",
            code="INVALID_TRANSITION",
            field=["input", "event"],
        )
    if actor_kind not in transition.by:
        raise ForbiddenError(f"{event} is not for {actor_kind.value.lower()} callers")
    now = datetime.now(UTC)
    for effect in transition.effects:
        if effect == "restock":
            await _restock(session, tenant_id, order, refund)
        elif effect == "refund_money":
            await _refund_money(session, tenant_id, order, refund)
        elif effect == "retry_money":
            await _retry_money(session, tenant_id, order, refund)
        elif effect == "take_replacement":
            await _restock(session, tenant_id, order, refund, sign=-1)
        else:
            raise RuntimeError(f"unknown refund effect {effect}")
    await repository.set_refund_status(
        session, tenant_id, refund_id, status=transition.target, note=reason, at=now
    )
    await _record(
        session,
        tenant_id,
        order,
        refund,
        event,
        refund.status,
        actor,
        reason,
        now,
        transition.target,
    )
    changed = await repository.refund_by_id(session, tenant_id, refund_id, None)
    if changed is None:
        raise RuntimeError("the refund vanished")
    return changed


REQUEST_KEY_PREFIX = "order-refund:"


def request_key(refund_id: uuid.UUID) -> str:
    """The payment refund request of an after-sale request (retries add a suffix)."""
    return f"{REQUEST_KEY_PREFIX}{refund_id}"


def after_sale_of(key: str) -> uuid.UUID | None:
    """The after-sale request a payment refund request key belongs to, if any."""
    if not key.startswith(REQUEST_KEY_PREFIX):
        return None
    try:
        return uuid.UUID(key.removeprefix(REQUEST_KEY_PREFIX).split(":", 1)[0])
    except ValueError:
        return None


def _payment_lines(order_id: uuid.UUID, amounts: Mapping[int, int]) -> dict[uuid.UUID, int]:
    return {
        delivery_fee_id(order_id)
        if line_no == DELIVERY_FEE_LINE
        else order_line_id(order_id, line_no): amount
        for line_no, amount in amounts.items()
    }


async def _refund_money(
    session: AsyncSession, tenant_id: uuid.UUID, order: OrderInfo, refund: RefundInfo
) -> None:
    await payment_api.refund(
        session,
        tenant_id,
        order.id,
        request_key(refund.id),
        _payment_lines(order.id, {line.line_no: line.amount for line in refund.lines}),
        reason=refund.kind.lower(),
    )
    # The payment center's ``payment.order_lines_refunded`` counts the amounts on the
    # order's lines, in this transaction (``count_refund``, decision 0080).


async def _retry_money(
    session: AsyncSession, tenant_id: uuid.UUID, order: OrderInfo, refund: RefundInfo
) -> None:
    """Send again what the provider refused, as a new payment refund request (its
    key is new, so the refused one is not replayed); the order counts it again."""
    owed = {line.line_no: line.failed_amount for line in refund.lines if line.failed_amount}
    if not owed:
        raise UserInputError("nothing of this request waits for a refund", code="NOTHING_TO_REFUND")
    await payment_api.refund(
        session,
        tenant_id,
        order.id,
        f"{request_key(refund.id)}:r{new_id().hex[:16]}",
        _payment_lines(order.id, owed),
        reason=f"{refund.kind.lower()} retry",
    )
    await repository.clear_failed_refund(session, tenant_id, refund.id)


async def _line_numbers(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    amounts: Mapping[uuid.UUID, int],
) -> dict[int, int]:
    """Payment line ids → the order's line numbers (0: the delivery fee), amounts summed."""
    lines = [line for _, line in await repository.lines_by_orders(session, tenant_id, [order_id])]
    numbers = {order_line_id(order_id, line.line_no): line.line_no for line in lines}
    numbers[delivery_fee_id(order_id)] = DELIVERY_FEE_LINE
    counted: dict[int, int] = {}
    for line_id, amount in amounts.items():
        line_no = numbers.get(line_id)
        if line_no is None:
            raise RuntimeError(f"refunded line {line_id} is not on order {order_id}")
        counted[line_no] = counted.get(line_no, 0) + amount
    return counted


async def uncount_refused_refund(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    line_amounts: Mapping[uuid.UUID, int],
    *,
    request_key: str,
    amount: int,
) -> None:
    """The provider refused a refund this center had counted: take it off the lines
    again, and move the after-sale request it came from to ``REFUND_FAILED`` with the
    refused amounts kept on its lines for ``RETRY``. A trade closed by the refund stays
    closed (its money is still owed, and shown so)."""
    order = await repository.lock_order(session, tenant_id, order_id, None)
    if order is None:
        return
    refused = await _line_numbers(session, tenant_id, order_id, line_amounts)
    if not refused:
        return
    await repository.add_refunded(session, tenant_id, order_id, refused, sign=-1)
    after_sale = after_sale_of(request_key)
    refund = (
        await repository.refund_by_id(session, tenant_id, after_sale, None)
        if after_sale is not None
        else None
    )
    reason = f"{amount} refused by the payment provider"
    if refund is not None and refund.status in ("REFUNDED", "REFUND_FAILED"):
        await repository.add_failed_refund(session, tenant_id, refund.id, refused)
        await apply_refund_event(
            session,
            tenant_id,
            refund.id,
            "REFUSE",
            actor="system:payment",
            actor_kind=Actor.SYSTEM,
            reason=reason,
        )
        return
    await repository.append_history(
        session,
        tenant_id,
        order_id,
        at=datetime.now(UTC),
        actor="system:payment",
        event="REFUND_REFUSED",
        from_status=order.status,
        to_status=order.status,
        reason=f"{reason}; refund it again with refundPayment",
        idempotency_key=None,
    )


async def count_refund(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    line_amounts: Mapping[uuid.UUID, int],
    *,
    request_key: str,
) -> None:
    """Count money the payment center refunded on the order's lines (whoever asked:
    an after-sale request or a direct ``refundPayment``); close the trade when all
    that was paid for the goods went back. An order this center does not hold (cash
    recorded against a foreign order id) is left alone."""
    order = await repository.lock_order(session, tenant_id, order_id, None)
    if order is None:
        return
    counted = await _line_numbers(session, tenant_id, order_id, line_amounts)
    if not counted:
        return
    await repository.add_refunded(session, tenant_id, order_id, counted)
    lines = [line for _, line in await repository.lines_by_orders(session, tenant_id, [order_id])]
    closable = machine_for(order.order_type).find(order.status, "CLOSE") is not None
    if closable and all(
        line.payable is not None
        and line.refunded is not None
        and line.refunded.amount >= line.payable.amount
        for line in lines
    ):
        # Everything paid for the goods went back: the trade is closed (交易关闭). A
        # completed (or already closed) order keeps its status; its lines show the refund.
        await transitions.apply_event(
            session,
            tenant_id,
            order_id,
            "CLOSE",
            actor="system:refund",
            actor_kind=Actor.SYSTEM,
            reason="fully refunded",
            idempotency_key=f"closed-by:{request_key}",
        )


async def _restock(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order: OrderInfo,
    refund: RefundInfo,
    sign: int = 1,
) -> None:
    # Inspected and back on the shelf (+), or the replacement taken off it (−): on-hand
    # stock of the store that sold it. INSUFFICIENT_STOCK refuses an exchange.
    lines = {
        line.line_no: line
        for _, line in await repository.lines_by_orders(session, tenant_id, [order.id])
    }
    for returned in refund.lines:
        if returned.quantity > 0:
            await stock_api.adjust(
                session,
                tenant_id,
                idempotency_key=f"{'return' if sign > 0 else 'replace'}:{refund.id}:"
                f"{returned.line_no}",
                store_id=order.store_id,
                sku_id=lines[returned.line_no].sku_id,
                delta=sign * returned.quantity,
                reason="returned" if sign > 0 else "exchanged",
            )


async def _record(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order: OrderInfo,
    refund: RefundInfo,
    event: str,
    from_status: str | None,
    actor: str,
    reason: str,
    at: datetime,
    to_status: str | None = None,
) -> None:
    target = to_status or refund.status
    await repository.append_history(
        session,
        tenant_id,
        order.id,
        at=at,
        actor=actor,
        event=f"REFUND_{event}"[:32],
        from_status=order.status,
        to_status=order.status,
        reason=f"{refund.kind} {refund.amount.amount}: {from_status or '-'} → {target}"
        + (f" ({reason})" if reason else ""),
        idempotency_key=None,
    )
    await emit(
        session,
        tenant_id,
        OrderRefundChanged(
            order_id=order.id,
            refund_id=refund.id,
            kind=refund.kind,
            event=event,
            from_status=from_status,
            to_status=target,
            amount=refund.amount.amount,
            actor=actor,
        ),
    )
