"""Order placement and cancellation: the order control service (订单控制服务).

Placement runs in the caller's single transaction: claim the idempotency key, price
the lines (product), reserve stock (stock), write the order, its lines and the
``order.placed`` outbox event. Any ``UserInputError`` undoes all of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.order import repository
from centers.order.dto import LineRequest, OrderInfo, OrderLineInfo
from centers.order.events import OrderCancelled, OrderPlaced, PlacedLine
from centers.product import api as product_api
from centers.stock import api as stock_api
from centers.store import api as store_api
from kernel import idempotency
from kernel.errors import UserInputError
from kernel.ids import new_id, new_order_number
from kernel.money import Money
from kernel.outbox import emit

MAX_LINES = 100
MAX_QUANTITY = 9_999
NUMBER_ATTEMPTS = 5


def _check_lines(lines: Sequence[LineRequest]) -> None:
    if not lines:
        raise UserInputError(
            "an order needs at least one line", code="NO_LINES", field=["input", "lines"]
        )
    if len(lines) > MAX_LINES:
        raise UserInputError(
            f"at most {MAX_LINES} lines per order", code="TOO_MANY_LINES", field=["input", "lines"]
        )
    for index, line in enumerate(lines):
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise UserInputError(
                f"quantity must be between 1 and {MAX_QUANTITY}",
                code="INVALID_QUANTITY",
                field=["input", "lines", str(index), "quantity"],
            )


async def place_order(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    buyer: str,
    idempotency_key: str,
    store_id: uuid.UUID,
    lines: Sequence[LineRequest],
) -> tuple[OrderInfo, bool]:
    """Place an order; returns it and whether this was a replay of an earlier request."""
    _check_lines(lines)
    order_id = new_id()
    request = {
        "buyer": buyer,
        "store": store_id,
        "lines": [[line.sku_id, line.quantity] for line in lines],
    }
    claim = await idempotency.claim(
        session, tenant_id, "order.place", idempotency_key, request, order_id
    )
    if claim.replayed:
        found = await repository.orders_by_ids(session, tenant_id, [claim.result_id], buyer=None)
        return found[0], True

    if await store_api.get_store(session, tenant_id, store_id) is None:
        raise UserInputError("store not found", code="STORE_NOT_FOUND", field=["input", "storeId"])
    skus = await product_api.get_skus(session, tenant_id, list({line.sku_id for line in lines}))
    priced: list[OrderLineInfo] = []
    for index, line in enumerate(lines):
        sku = skus.get(line.sku_id)
        if sku is None:
            raise UserInputError(
                "SKU not found", code="SKU_NOT_FOUND", field=["input", "lines", str(index), "skuId"]
            )
        priced.append(
            OrderLineInfo(
                line_no=index + 1,
                sku_id=sku.id,
                sku_code=sku.code,
                sku_name=sku.name,
                unit_price=sku.price,
                quantity=line.quantity,
                amount=sku.price.times(line.quantity),
            )
        )
    currency = priced[0].amount.currency
    if any(line.amount.currency != currency for line in priced):
        raise UserInputError(
            "lines are priced in different currencies",
            code="MIXED_CURRENCIES",
            field=["input", "lines"],
        )
    total = Money(sum(line.amount.amount for line in priced), currency)

    await stock_api.reserve(
        session,
        tenant_id,
        store_id,
        order_id,
        [stock_api.ReserveLine(sku_id=line.sku_id, quantity=line.quantity) for line in lines],
    )

    now = datetime.now(UTC)
    order = await _insert_with_fresh_number(
        session,
        tenant_id,
        OrderInfo(
            id=order_id,
            number=new_order_number(now),
            store_id=store_id,
            buyer_subject=buyer,
            status="PLACED",
            total=total,
            placed_at=now,
            cancelled_at=None,
            cancel_reason=None,
        ),
    )
    await repository.insert_lines(session, tenant_id, order_id, priced)
    await emit(
        session,
        tenant_id,
        OrderPlaced(
            order_id=order_id,
            number=order.number,
            store_id=store_id,
            buyer_subject=buyer,
            currency=currency,
            total_amount=total.amount,
            lines=[
                PlacedLine(
                    sku_id=line.sku_id,
                    quantity=line.quantity,
                    unit_price_amount=line.unit_price.amount,
                    line_amount=line.amount.amount,
                )
                for line in priced
            ],
        ),
    )
    return order, False


async def _insert_with_fresh_number(
    session: AsyncSession, tenant_id: uuid.UUID, order: OrderInfo
) -> OrderInfo:
    # Ten random digits per day: a collision is rare, but never fatal.
    for _ in range(NUMBER_ATTEMPTS):
        if await repository.insert_order(session, tenant_id, order):
            return order
        order = replace(order, number=new_order_number(order.placed_at))
    raise RuntimeError("could not draw a free order number")


async def cancel_order(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    *,
    actor: str,
    own_only: bool,
    reason: str,
) -> OrderInfo:
    """Cancel a placed order and release its stock. ``own_only``: the actor's orders only."""
    reason = reason.strip() or "cancelled"
    if len(reason) > 200:
        raise UserInputError(
            "reason is at most 200 characters", code="INVALID_REASON", field=["input", "reason"]
        )
    buyer = actor if own_only else None
    cancelled = await repository.mark_cancelled(
        session, tenant_id, order_id, buyer=buyer, reason=reason, at=datetime.now(UTC)
    )
    if cancelled is None:
        existing = await repository.orders_by_ids(session, tenant_id, [order_id], buyer=buyer)
        if not existing:
            raise UserInputError(
                "order not found", code="ORDER_NOT_FOUND", field=["input", "orderId"]
            )
        raise UserInputError(
            f"an order in status {existing[0].status} cannot be cancelled",
            code="INVALID_TRANSITION",
            field=["input", "orderId"],
        )
    await stock_api.release(session, tenant_id, order_id)
    await emit(
        session,
        tenant_id,
        OrderCancelled(
            order_id=order_id, number=cancelled.number, reason=reason, cancelled_by=actor
        ),
    )
    return cancelled
