"""The order center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.order import repository, service
from centers.order.dto import LineRequest, OrderInfo, OrderLineInfo

__all__ = ["LineRequest", "OrderInfo", "OrderLineInfo", "cancel_order", "get_order", "place_order"]


async def place_order(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    buyer: str,
    idempotency_key: str,
    store_id: uuid.UUID,
    lines: Sequence[LineRequest],
) -> tuple[OrderInfo, bool]:
    """Place an order in the caller's transaction; returns ``(order, replayed)``.

    Raises ``UserInputError``: ``NO_LINES``, ``TOO_MANY_LINES``, ``INVALID_QUANTITY``,
    ``STORE_NOT_FOUND``, ``SKU_NOT_FOUND``, ``OUT_OF_STOCK``, ``MIXED_CURRENCIES``,
    ``INVALID_IDEMPOTENCY_KEY``, ``IDEMPOTENCY_KEY_REUSED``.
    """
    return await service.place_order(
        session,
        tenant_id,
        buyer=buyer,
        idempotency_key=idempotency_key,
        store_id=store_id,
        lines=lines,
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
    """Cancel a placed order and release its stock (``ORDER_NOT_FOUND``, ``INVALID_TRANSITION``)."""
    return await service.cancel_order(
        session, tenant_id, order_id, actor=actor, own_only=own_only, reason=reason
    )


async def get_order(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> OrderInfo | None:
    """One order of the tenant, or ``None``."""
    found = await repository.orders_by_ids(session, tenant_id, [order_id], buyer=None)
    return found[0] if found else None
