"""The transition engine: applies an event to an order by its type's state machine.

One engine for every order type. A transition runs in the caller's transaction:
lock the order row (conflicting transitions queue; the second sees the first's
result), replay if its idempotency key was already applied, find the transition,
check who may fire it and its guards, run its effects, write the new state, the
history entry, the outbox event and the change notification.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from centers.order import groups, repository
from centers.order.dto import OrderInfo, OrderSettings, TransitionResult
from centers.order.events import OrderCancelled, OrderStatusChanged
from centers.order.machine import Actor, Transition, machine_for
from centers.order.machine.definitions import ALL_EVENTS
from centers.payment import api as payment_api
from centers.promotion import api as promotion_api
from centers.stock import api as stock_api
from kernel.errors import ForbiddenError, UserInputError
from kernel.idempotency import MAX_KEY_LENGTH
from kernel.jobs import cancel_job, schedule_job
from kernel.outbox import emit

JOB_PAYMENT_TIMEOUT = "order.payment_timeout"
JOB_COMPLETE = "order.complete"
JOB_BALANCE_TIMEOUT = "order.balance_timeout"
MAX_REASON = 200

# The reason recorded when the caller gives none.
DEFAULT_REASONS = {
    "CANCEL": "cancelled",
    "TIMEOUT": "payment timeout",
    "BALANCE_TIMEOUT": "presale balance not paid in time",
    "REJECT_REVIEW": "rejected in review",
    "REFUSE": "refused on delivery",
}


@dataclass
class Step:
    """What guards and effects see: the locked order and the change being built."""

    session: AsyncSession
    tenant_id: uuid.UUID
    order: OrderInfo
    transition: Transition
    actor: str
    actor_kind: Actor
    reason: str
    amount: int | None
    now: datetime
    # The time rules are judged at: ``now``, or a job's due time (the job fires then).
    as_of: datetime
    changes: dict[str, Any] = field(default_factory=dict)
    _settings: OrderSettings | None = None

    async def settings(self) -> OrderSettings:
        if self._settings is None:
            self._settings = await repository.get_settings(self.session, self.tenant_id)
        return self._settings


# --- guards: raise UserInputError when the transition may not happen -----------------


async def _pays_deposit(step: Step) -> None:
    if step.amount != step.order.deposit_amount:
        raise UserInputError(
            f"the deposit is {step.order.deposit_amount}, not {step.amount}",
            code="AMOUNT_MISMATCH",
            field=["input", "amount"],
        )


async def _pays_balance(step: Step) -> None:
    owed = step.order.total.amount - step.order.paid_amount
    if step.amount != owed:
        raise UserInputError(
            f"{owed} is owed, not {step.amount}", code="AMOUNT_MISMATCH", field=["input", "amount"]
        )


async def _fully_paid(step: Step) -> None:
    owed = step.order.total.amount - step.order.paid_amount
    if owed > 0:
        raise UserInputError(
            f"{owed} is still owed on this order", code="NOT_PAID", field=["input", "event"]
        )


async def _group_complete(step: Step) -> None:
    # A group-buy order ships once its group is complete (拼团成功); others always pass.
    group = await groups.group_of_order(step.session, step.tenant_id, step.order.id)
    if group is not None and group.status != "COMPLETED":
        raise UserInputError(
            f"the group has {group.paid} of {group.size} paid orders",
            code="GROUP_NOT_COMPLETE",
            field=["input", "event"],
        )


async def _after_sale_window_over(step: Step) -> None:
    received = step.order.status_changed_at or step.order.placed_at
    days = (await step.settings()).after_sale_days
    if step.as_of < received + timedelta(days=days):
        raise UserInputError(
            f"the {days}-day after-sale window is still open",
            code="AFTER_SALE_WINDOW_OPEN",
            field=["input", "event"],
        )


GUARDS: dict[str, Callable[[Step], Awaitable[None]]] = {
    "pays_deposit": _pays_deposit,
    "pays_balance": _pays_balance,
    "fully_paid": _fully_paid,
    "group_complete": _group_complete,
    "after_sale_window_over": _after_sale_window_over,
}


# --- effects -------------------------------------------------------------------------


async def _record_payment(step: Step) -> None:
    step.changes["paid_amount"] = step.order.paid_amount + (step.amount or 0)


async def _count_group_payment(step: Step) -> None:
    # A group-buy member paid: the group's size-th paid order completes it; a group that
    # failed meanwhile refuses the payment (GROUP_BUY_FAILED, the money goes back).
    await groups.on_paid(step.session, step.tenant_id, step.order.id, step.now)


async def _release_stock(step: Step) -> None:
    await stock_api.release(step.session, step.tenant_id, step.order.id)


async def _confirm_stock(step: Step) -> None:
    # Deduct at payment (付款减库存): held lines become sold; lines of SKUs deducted at
    # payment are re-checked, and OUT_OF_STOCK refuses the payment (it is refunded).
    await stock_api.confirm_for_order(step.session, step.tenant_id, step.order.id)


async def _release_benefits(step: Step) -> None:
    # Coupons, activity budgets, per-member limits and points come back as allocated.
    await promotion_api.release_for_order(step.session, step.tenant_id, step.order.id)


async def _close_payment(step: Step) -> None:
    # No capture after this; anything already taken goes back to where it came from.
    await payment_api.close_payment(step.session, step.tenant_id, step.order.id)


def keeps_deposit(event: str, actor_kind: Actor) -> bool:
    """The presale rule (定金不退): the deposit is kept when the buyer abandons the
    balance (the buyer cancels, or the balance times out) and refunded when staff or the
    system cancel (the merchant cannot deliver, risk control)."""
    return event == "BALANCE_TIMEOUT" or actor_kind is Actor.BUYER


async def _settle_deposit(step: Step) -> None:
    # Usually done already by ``_close_payment_first`` (lock order); idempotent here.
    await payment_api.close_payment(
        step.session,
        step.tenant_id,
        step.order.id,
        keep_paid=keeps_deposit(step.transition.event, step.actor_kind),
    )


async def _schedule_balance_timeout(step: Step) -> None:
    # The balance opens at the payment's ``balance_from`` (the presale activity's end,
    # or at once) and is due ``presale_balance_hours`` later.
    found = await payment_api.get_order_payment(step.session, step.tenant_id, step.order.id)
    opens = found.balance_from if found is not None and found.balance_from else step.now
    due = max(opens, step.now) + timedelta(hours=(await step.settings()).presale_balance_hours)
    await schedule_job(
        step.session,
        step.tenant_id,
        JOB_BALANCE_TIMEOUT,
        str(step.order.id),
        due,
        {"order_id": str(step.order.id)},
    )


async def _stamp_cancelled(step: Step) -> None:
    step.changes["cancelled_at"] = step.now
    step.changes["cancel_reason"] = step.reason


async def schedule_payment_timeout(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    since: datetime,
    settings: OrderSettings | None = None,
) -> None:
    """Unpaid orders are cancelled after the tenant's timeout (default 15 min)."""
    if settings is None:
        settings = await repository.get_settings(session, tenant_id)
    await schedule_job(
        session,
        tenant_id,
        JOB_PAYMENT_TIMEOUT,
        str(order_id),
        since + timedelta(seconds=settings.payment_timeout_seconds),
        {"order_id": str(order_id)},
    )


async def _schedule_payment_timeout(step: Step) -> None:
    # Only where the machine lets an unpaid order time out (not cash on delivery).
    if machine_for(step.order.order_type).find(step.transition.target, "TIMEOUT") is not None:
        await schedule_payment_timeout(step.session, step.tenant_id, step.order.id, step.now)


async def _issue_pickup_code(step: Step) -> None:
    # 取餐码 / voucher code: short enough to read out, random so it cannot be guessed.
    step.changes["pickup_code"] = f"{secrets.randbelow(10**6):06d}"


async def _schedule_completion(step: Step) -> None:
    days = (await step.settings()).after_sale_days
    await schedule_job(
        step.session,
        step.tenant_id,
        JOB_COMPLETE,
        str(step.order.id),
        step.now + timedelta(days=days),
        {
            "order_id": str(step.order.id),
            "due_at": (step.now + timedelta(days=days)).isoformat(),
        },
    )


EFFECTS: dict[str, Callable[[Step], Awaitable[None]]] = {
    "record_payment": _record_payment,
    "count_group_payment": _count_group_payment,
    "release_stock": _release_stock,
    "confirm_stock": _confirm_stock,
    "release_benefits": _release_benefits,
    "close_payment": _close_payment,
    "stamp_cancelled": _stamp_cancelled,
    "schedule_payment_timeout": _schedule_payment_timeout,
    "settle_deposit": _settle_deposit,
    "schedule_balance_timeout": _schedule_balance_timeout,
    "issue_pickup_code": _issue_pickup_code,
    "schedule_completion": _schedule_completion,
}


def _check_input(event: str, reason: str, idempotency_key: str | None) -> str:
    if event not in ALL_EVENTS:
        raise UserInputError(
            f"unknown event {event!r}", code="UNKNOWN_EVENT", field=["input", "event"]
        )
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise UserInputError(
            f"reason is at most {MAX_REASON} characters",
            code="INVALID_REASON",
            field=["input", "reason"],
        )
    if idempotency_key is not None and (
        not idempotency_key
        or len(idempotency_key) > MAX_KEY_LENGTH
        or not idempotency_key.isprintable()
    ):
        raise UserInputError(
            f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} printable characters",
            code="INVALID_IDEMPOTENCY_KEY",
            field=["input", "idempotencyKey"],
        )
    return reason or DEFAULT_REASONS.get(event, "")


async def _close_payment_first(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    event: str,
    buyer: str | None,
    actor_kind: Actor,
) -> None:
    """Close the payment before taking the order's lock when the event will close it.

    A capture locks the payment and then (through ``payment.captured``) the order; a
    cancel that locked the order first and the payment second could deadlock with it.
    Taking them in the capture's order makes one simply wait for the other: a capture
    that got there first makes this raise ``INVALID_TRANSITION`` (the order is paid);
    a cancel that got there first makes the capture find the payment closed and refund.
    If the event then fails, the transaction rolls back and the payment stays open.
    """
    peek = await repository.orders_by_ids(session, tenant_id, [order_id], buyer)
    if not peek:
        return
    transition = machine_for(peek[0].order_type).find(peek[0].status, event)
    if transition is None or not {"close_payment", "settle_deposit"} & set(transition.effects):
        return
    keep = "settle_deposit" in transition.effects and keeps_deposit(event, actor_kind)
    try:
        await payment_api.close_payment(session, tenant_id, order_id, keep_paid=keep)
    except UserInputError as error:
        if error.code != "ALREADY_PAID":
            raise
        raise UserInputError(
            f"{event} is not possible: the order has just been paid",
            code="INVALID_TRANSITION",
            field=["input", "event"],
        ) from error


async def apply_event(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    event: str,
    *,
    actor: str,
    actor_kind: Actor,
    reason: str = "",
    idempotency_key: str | None = None,
    buyer: str | None = None,
    amount: int | None = None,
    as_of: datetime | None = None,
) -> TransitionResult:
    """Apply ``event`` to the order; ``buyer``: only that buyer's order is reachable.

    ``as_of``: a scheduled job's due time, at which time-based guards are judged.

    Raises ``UserInputError``: ``UNKNOWN_EVENT``, ``INVALID_REASON``,
    ``INVALID_IDEMPOTENCY_KEY``, ``ORDER_NOT_FOUND``, ``INVALID_TRANSITION``,
    ``IDEMPOTENCY_KEY_REUSED``, and the guards' codes (``AMOUNT_MISMATCH``,
    ``AFTER_SALE_WINDOW_OPEN``); ``ForbiddenError`` when ``actor_kind`` may not fire it.
    """
    reason = _check_input(event, reason, idempotency_key)
    await _close_payment_first(session, tenant_id, order_id, event, buyer, actor_kind)
    order = await repository.lock_order(session, tenant_id, order_id, buyer)
    if order is None:
        raise UserInputError("order not found", code="ORDER_NOT_FOUND", field=["input", "orderId"])
    if idempotency_key is not None:
        earlier = await repository.history_by_key(session, tenant_id, order_id, idempotency_key)
        if earlier is not None:
            if earlier.event != event:
                raise UserInputError(
                    "this idempotencyKey was already used for another event",
                    code="IDEMPOTENCY_KEY_REUSED",
                    field=["input", "idempotencyKey"],
                )
            return TransitionResult(order=order, replayed=True)
    transition = machine_for(order.order_type).find(order.status, event)
    if transition is None:
        raise UserInputError(
            f"{event} is not possible for a {order.order_type} order in status {order.status}",
            code="INVALID_TRANSITION",
            field=["input", "event"],
        )
    if actor_kind not in transition.by:
        raise ForbiddenError(f"{event} is not for {actor_kind.value.lower()} callers")
    step = Step(
        session=session,
        tenant_id=tenant_id,
        order=order,
        transition=transition,
        actor=actor,
        actor_kind=actor_kind,
        reason=reason,
        amount=amount,
        now=(now := datetime.now(UTC)),
        as_of=max(now, as_of) if as_of is not None else now,
    )
    for guard in transition.guards:
        await GUARDS[guard](step)
    for effect in transition.effects:
        await EFFECTS[effect](step)
    machine = machine_for(order.order_type)
    if (
        transition.event != "TIMEOUT"
        and machine.find(order.status, "TIMEOUT") is not None
        and machine.find(transition.target, "TIMEOUT") is None
    ):
        # Paid or cancelled: the payment timeout has nothing left to do; drop it rather
        # than let a worker claim it later only to find the order moved on.
        await cancel_job(session, tenant_id, JOB_PAYMENT_TIMEOUT, str(order_id))
    changed = await repository.update_order(
        session,
        tenant_id,
        order_id,
        {**step.changes, "status": transition.target, "status_changed_at": step.now},
    )
    await record(
        session,
        tenant_id,
        changed,
        event=event,
        from_status=order.status,
        actor=actor,
        reason=reason,
        idempotency_key=idempotency_key,
        at=step.now,
    )
    return TransitionResult(order=changed, replayed=False)


async def record(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order: OrderInfo,
    *,
    event: str,
    from_status: str | None,
    actor: str,
    reason: str,
    idempotency_key: str | None,
    at: datetime,
) -> None:
    """History entry, outbox event(s) and change notification of one transition."""
    seq = await repository.append_history(
        session,
        tenant_id,
        order.id,
        at=at,
        actor=actor,
        event=event,
        from_status=from_status,
        to_status=order.status,
        reason=reason,
        idempotency_key=idempotency_key,
        first=from_status is None,
    )
    if from_status is not None:
        await emit(
            session,
            tenant_id,
            OrderStatusChanged(
                order_id=order.id,
                number=order.number,
                store_id=order.store_id,
                order_type=order.order_type,
                event=event,
                from_status=from_status,
                to_status=order.status,
                actor=actor,
                reason=reason,
            ),
        )
        if order.status == "CANCELLED":
            await emit(
                session,
                tenant_id,
                OrderCancelled(
                    order_id=order.id, number=order.number, reason=reason, cancelled_by=actor
                ),
            )
    await repository.notify_change(
        session, tenant_id, order, event=event, from_status=from_status, at=at, seq=seq
    )
