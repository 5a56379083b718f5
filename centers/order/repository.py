"""Every query of the order center; tenant scoping lives here and only here.

``buyer`` parameters are ownership filters: when given, only that buyer's orders
exist for the query (a customer reads and cancels only their own orders).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.order.dto import OrderInfo, OrderLineInfo
from centers.order.models import OrderLine, TradeOrder
from kernel.db import table_of
from kernel.graphql.pagination import PageRequest
from kernel.money import Money

trade_order = table_of(TradeOrder)
order_line = table_of(OrderLine)

_order_columns = (
    trade_order.c.id,
    trade_order.c.number,
    trade_order.c.store_id,
    trade_order.c.buyer_subject,
    trade_order.c.status,
    trade_order.c.currency,
    trade_order.c.total_amount,
    trade_order.c.placed_at,
    trade_order.c.cancelled_at,
    trade_order.c.cancel_reason,
)
_line_columns = (
    order_line.c.order_id,
    order_line.c.line_no,
    order_line.c.sku_id,
    order_line.c.sku_code,
    order_line.c.sku_name,
    order_line.c.unit_price_amount,
    order_line.c.quantity,
    order_line.c.line_amount,
    trade_order.c.currency,
)

# Written on every order: built once (a statement built per call costs more CPU than
# its round trip).
_INSERT_ORDER = (
    insert(trade_order)
    .values(
        {
            c: sa.bindparam(c)
            for c in (
                "tenant_id",
                "id",
                "number",
                "store_id",
                "buyer_subject",
                "status",
                "currency",
                "total_amount",
                "placed_at",
            )
        }
    )
    .on_conflict_do_nothing(index_elements=["tenant_id", "number"])
    .returning(trade_order.c.id)
)
_INSERT_LINES = order_line.insert()


def _order(row: Any) -> OrderInfo:
    return OrderInfo(
        id=row.id,
        number=row.number,
        store_id=row.store_id,
        buyer_subject=row.buyer_subject,
        status=row.status,
        total=Money(row.total_amount, row.currency),
        placed_at=row.placed_at,
        cancelled_at=row.cancelled_at,
        cancel_reason=row.cancel_reason,
    )


def _scoped(tenant_id: uuid.UUID, buyer: str | None) -> list[sa.ColumnElement[bool]]:
    conditions = [trade_order.c.tenant_id == tenant_id]
    if buyer is not None:
        conditions.append(trade_order.c.buyer_subject == buyer)
    return conditions


async def insert_order(session: AsyncSession, tenant_id: uuid.UUID, order: OrderInfo) -> bool:
    """Insert unless the number is taken (then ``False``: draw another number)."""
    written = await session.scalar(
        _INSERT_ORDER,
        {
            "tenant_id": tenant_id,
            "id": order.id,
            "number": order.number,
            "store_id": order.store_id,
            "buyer_subject": order.buyer_subject,
            "status": order.status,
            "currency": order.total.currency,
            "total_amount": order.total.amount,
            "placed_at": order.placed_at,
        },
    )
    return written is not None


async def insert_lines(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, lines: Sequence[OrderLineInfo]
) -> None:
    # executemany form: one cached statement whatever the line count, one round trip.
    await session.execute(
        _INSERT_LINES,
        [
            {
                "tenant_id": tenant_id,
                "order_id": order_id,
                "line_no": line.line_no,
                "sku_id": line.sku_id,
                "sku_code": line.sku_code,
                "sku_name": line.sku_name,
                "unit_price_amount": line.unit_price.amount,
                "quantity": line.quantity,
                "line_amount": line.amount.amount,
            }
            for line in lines
        ],
    )


async def orders_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID], buyer: str | None
) -> list[OrderInfo]:
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_order_columns).where(*_scoped(tenant_id, buyer), trade_order.c.id.in_(ids))
    )
    return [_order(row) for row in rows.all()]


async def order_by_number(
    session: AsyncSession, tenant_id: uuid.UUID, number: str, buyer: str | None
) -> OrderInfo | None:
    row = (
        await session.execute(
            sa.select(*_order_columns).where(
                *_scoped(tenant_id, buyer), trade_order.c.number == number
            )
        )
    ).first()
    return _order(row) if row else None


async def list_orders(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    page: PageRequest,
    *,
    buyer: str | None,
    store_id: uuid.UUID | None,
    status: str | None,
) -> list[OrderInfo]:
    """Newest first (ids are time-ordered UUIDv7)."""
    query = sa.select(*_order_columns).where(*_scoped(tenant_id, buyer))
    if store_id is not None:
        query = query.where(trade_order.c.store_id == store_id)
    if status is not None:
        query = query.where(trade_order.c.status == status)
    after = page.after_id()
    if after is not None:
        query = query.where(trade_order.c.id < after)
    rows = await session.execute(query.order_by(trade_order.c.id.desc()).limit(page.limit))
    return [_order(row) for row in rows.all()]


async def lines_by_orders(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, OrderLineInfo]]:
    if not order_ids:
        return []
    rows = await session.execute(
        sa.select(*_line_columns)
        .join(
            trade_order,
            sa.and_(
                trade_order.c.tenant_id == order_line.c.tenant_id,
                trade_order.c.id == order_line.c.order_id,
            ),
        )
        .where(order_line.c.tenant_id == tenant_id, order_line.c.order_id.in_(order_ids))
        .order_by(order_line.c.order_id, order_line.c.line_no)
    )
    return [
        (
            row.order_id,
            OrderLineInfo(
                line_no=row.line_no,
                sku_id=row.sku_id,
                sku_code=row.sku_code,
                sku_name=row.sku_name,
                unit_price=Money(row.unit_price_amount, row.currency),
                quantity=row.quantity,
                amount=Money(row.line_amount, row.currency),
            ),
        )
        for row in rows.all()
    ]


async def mark_cancelled(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    *,
    buyer: str | None,
    reason: str,
    at: datetime,
) -> OrderInfo | None:
    """PLACED -> CANCELLED as one conditional update: of two racing cancels, one wins."""
    row = (
        await session.execute(
            trade_order.update()
            .where(
                *_scoped(tenant_id, buyer),
                trade_order.c.id == order_id,
                trade_order.c.status == "PLACED",
            )
            .values(status="CANCELLED", cancelled_at=at, cancel_reason=reason)
            .returning(*_order_columns)
        )
    ).first()
    return _order(row) if row else None
