"""The order center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.order import repository, service, transitions
from centers.order.dto import (
    HistoryEntry,
    LineRequest,
    OrderInfo,
    OrderLineInfo,
    OrderSettings,
    TransitionResult,
)
from centers.order.machine import Actor

__all__ = [
    "HistoryEntry",
    "LineRequest",
    "OrderInfo",
    "OrderLineInfo",
    "OrderSettings",
    "TransitionResult",
    "apply_event",
    "cancel_order",
    "get_order",
    "get_settings",
    "import_channel_order",
    "place_order",
    "save_settings",
    "stores_of_orders",
]


async def place_order(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    buyer: str,
    idempotency_key: str,
    store_id: uuid.UUID,
    lines: Sequence[LineRequest],
    order_type: str = "STANDARD",
    channel: str = "POS",
) -> tuple[OrderInfo, bool]:
    """Place an order in the caller's transaction; returns ``(order, replayed)``.

    ``order_type``: ``STANDARD``, ``COD``, ``PRESALE``, ``DINE_IN``, ``TAKEOUT``,
    ``VIRTUAL`` (see docs/orders.md). Raises ``UserInputError``: ``UNKNOWN_ORDER_TYPE``,
    ``INVALID_CHANNEL``, ``NO_LINES``, ``TOO_MANY_LINES``, ``INVALID_QUANTITY``,
    ``STORE_NOT_FOUND``, ``SKU_NOT_FOUND``, ``OUT_OF_STOCK``, ``MIXED_CURRENCIES``,
    ``INVALID_IDEMPOTENCY_KEY``, ``IDEMPOTENCY_KEY_REUSED``.
    """
    return await service.place_order(
        session,
        tenant_id,
        service.Placement(
            buyer=buyer,
            idempotency_key=idempotency_key,
            store_id=store_id,
            lines=lines,
            order_type=order_type,
            channel=channel,
        ),
    )


async def apply_event(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    event_name: str,
    actor: str,
    reason: str,
    idempotency_key: str,
    *,
    amount: int | None = None,
) -> TransitionResult:
    """Apply a state-machine event as a system caller (a plugin, a POS callback, a job).

    ``event_name`` is one of the order type's events (``ACCEPT``, ``START_PREPARING``,
    ``MARK_READY``, ``SERVE``, ``PICK_UP``, ``DISPATCH``, ``DELIVER``, ``SHIP``,
    ``RECEIVE``, ``CANCEL``, ``PAY`` with ``amount``…; docs/orders.md lists them per type).
    ``actor`` is recorded in the history (e.g. ``sa:pos-plugin``). Idempotent by
    ``idempotency_key`` per order: a replay returns the order with ``replayed=True``.
    Runs in the caller's transaction and holds the order's row lock until it ends.

    Raises ``UserInputError``: ``UNKNOWN_EVENT``, ``ORDER_NOT_FOUND``,
    ``INVALID_TRANSITION``, ``IDEMPOTENCY_KEY_REUSED``, ``INVALID_REASON``,
    ``INVALID_IDEMPOTENCY_KEY``, ``AMOUNT_MISMATCH``, ``AFTER_SALE_WINDOW_OPEN``.
    """
    return await transitions.apply_event(
        session,
        tenant_id,
        order_id,
        event_name,
        actor=actor,
        actor_kind=Actor.SYSTEM,
        reason=reason,
        idempotency_key=idempotency_key,
        amount=amount,
    )


async def import_channel_order(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    channel: str,
    external_id: str,
    store_id: uuid.UUID,
    buyer: str,
    lines: Sequence[LineRequest],
    order_type: str = "TAKEOUT",
    paid: bool = True,
) -> tuple[OrderInfo, bool]:
    """Create an order pulled from a sales channel (e.g. ``MEITUAN``); ``(order, replayed)``.

    Idempotent by ``(channel, external_id)``: pulling the same channel order again
    returns the first one with ``replayed=True`` and writes nothing. ``paid``: the channel
    already collected the money, so the order moves straight to ``PAID`` (history actor
    ``sa:channel-<channel>``). Stock is reserved like any order. Raises the
    ``UserInputError`` codes of ``place_order`` and ``INVALID_EXTERNAL_ID``.
    """
    return await service.import_channel_order(
        session,
        tenant_id,
        channel=channel,
        external_id=external_id,
        store_id=store_id,
        buyer=buyer,
        order_type=order_type,
        lines=lines,
        paid=paid,
    )


async def cancel_order(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    *,
    actor: str,
    own_only: bool,
    reason: str,
) -> OrderInfo:
    """Cancel an unpaid order and release its stock (``ORDER_NOT_FOUND``,
    ``INVALID_TRANSITION``); ``own_only``: only ``actor``'s own order is reachable."""
    return await service.cancel_order(
        session, tenant_id, order_id, actor=actor, own_only=own_only, reason=reason
    )


async def get_order(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> OrderInfo | None:
    """One order of the tenant, or ``None``."""
    found = await repository.orders_by_ids(session, tenant_id, [order_id], buyer=None)
    return found[0] if found else None


async def stores_of_orders(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """Each of the tenant's orders among ``order_ids`` with its store; ids that match no
    order (random, or another tenant's) are absent. What another center's partial
    ``Order`` entity checks before it answers a reference (decision 0110)."""
    if not order_ids:
        return {}
    found = await repository.stores_of_orders(session, tenant_id, order_ids)
    return {order_id: store for order_id, store in found.items() if store is not None}


async def get_settings(session: AsyncSession, tenant_id: uuid.UUID) -> OrderSettings:
    """The tenant's order rules (defaults when never set)."""
    return await repository.get_settings(session, tenant_id)


async def save_settings(
    session: AsyncSession, tenant_id: uuid.UUID, settings: OrderSettings
) -> OrderSettings:
    """Replace the tenant's order rules (payment timeout, after-sale days, delivery fee…)."""
    return await repository.save_settings(session, tenant_id, settings)
