"""Every query of the order center; tenant scoping lives here and only here.

``buyer`` parameters are ownership filters: when given, only that buyer's orders
exist for the query (a customer reads and acts on only their own orders).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.order.dto import (
    HistoryEntry,
    LineDiscountInfo,
    OrderInfo,
    OrderLineInfo,
    OrderSettings,
    RefundInfo,
    RefundLineInfo,
    SubOrderInfo,
)
from centers.order.models import (
    OrderHistory,
    OrderLine,
    OrderLineDiscount,
    OrderRefund,
    OrderRefundLine,
    OrderSetting,
    SubOrder,
    TradeOrder,
)
from kernel import prepared
from kernel.authz.stores import StoreScope
from kernel.batch import Batch, Column
from kernel.db import table_of
from kernel.graphql.pagination import PageRequest
from kernel.money import Money, allocate

trade_order = table_of(TradeOrder)
order_line = table_of(OrderLine)
sub_order = table_of(SubOrder)
line_discount = table_of(OrderLineDiscount)
order_history = table_of(OrderHistory)
order_setting = table_of(OrderSetting)

# Order changes are announced on this channel (delivered at commit, to every process
# that LISTENs): the ``orderEvents`` subscription's source.
NOTIFY_CHANNEL = "zhongtai_order_events"

_order_columns = (
    trade_order.c.id,
    trade_order.c.number,
    trade_order.c.store_id,
    trade_order.c.buyer_subject,
    trade_order.c.order_type,
    trade_order.c.channel,
    trade_order.c.status,
    trade_order.c.currency,
    trade_order.c.list_amount,
    trade_order.c.discount_amount,
    trade_order.c.delivery_fee,
    trade_order.c.total_amount,
    trade_order.c.deposit_amount,
    trade_order.c.paid_amount,
    trade_order.c.refunded_amount,
    trade_order.c.pickup_code,
    trade_order.c.external_id,
    trade_order.c.placed_at,
    trade_order.c.status_changed_at,
    trade_order.c.cancelled_at,
    trade_order.c.cancel_reason,
    trade_order.c.member_id,
    trade_order.c.member_subject,
)
_line_columns = (
    order_line.c.order_id,
    order_line.c.line_no,
    order_line.c.sub_no,
    order_line.c.sku_id,
    order_line.c.sku_code,
    order_line.c.sku_name,
    order_line.c.unit_price_amount,
    order_line.c.quantity,
    order_line.c.line_amount,
    order_line.c.discount_amount,
    order_line.c.payable_amount,
    order_line.c.refunded_amount,
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
                "order_type",
                "channel",
                "status",
                "currency",
                "list_amount",
                "discount_amount",
                "delivery_fee",
                "total_amount",
                "deposit_amount",
                "paid_amount",
                "external_id",
                "placed_at",
                "status_changed_at",
                "member_id",
                "member_subject",
            )
        }
    )
    .on_conflict_do_nothing(index_elements=["tenant_id", "number"])
    .returning(trade_order.c.id)
)
_INSERT_LINES = order_line.insert()
_INSERT_SUBS = sub_order.insert()
_INSERT_DISCOUNTS = line_discount.insert()
_INSERT_HISTORY = order_history.insert()
_NOTIFY = sa.text(f"SELECT pg_notify('{NOTIFY_CHANNEL}', :payload)")
_LOCK = (
    sa.select(*_order_columns)
    .where(
        trade_order.c.tenant_id == sa.bindparam("tenant_id"),
        trade_order.c.id == sa.bindparam("order_id"),
    )
    .with_for_update()
)


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
        order_type=row.order_type,
        channel=row.channel,
        list_amount=row.list_amount,
        discount_amount=row.discount_amount,
        delivery_fee=row.delivery_fee,
        deposit_amount=row.deposit_amount,
        paid_amount=row.paid_amount,
        refunded_amount=row.refunded_amount,
        pickup_code=row.pickup_code,
        external_id=row.external_id,
        status_changed_at=row.status_changed_at,
        member_id=row.member_id,
        member_subject=row.member_subject,
    )


@dataclass(frozen=True, slots=True)
class OrderReach:
    """The orders a caller reaches: any order of ``stores``, and ``buyer``'s own: those
    it placed and those placed for its membership (``member_subject``, decision 0113)."""

    stores: StoreScope
    buyer: str | None = None

    def condition(self) -> sa.ColumnElement[bool] | None:
        """The SQL filter on ``trade_order``; ``None`` when every order is reached."""
        if isinstance(self.stores, frozenset):
            parts: list[sa.ColumnElement[bool]] = []
            if self.stores:
                parts.append(trade_order.c.store_id.in_(sorted(self.stores)))
            if self.buyer is not None:
                parts.append(trade_order.c.buyer_subject == self.buyer)
                parts.append(trade_order.c.member_subject == self.buyer)
            return sa.or_(*parts) if parts else sa.false()
        return None


# Who is reached: every order (None), one buyer's own (str), or an ``OrderReach``.
Reach = OrderReach | str | None


def _reach_conditions(who: Reach) -> list[sa.ColumnElement[bool]]:
    if isinstance(who, str):
        return [trade_order.c.buyer_subject == who]
    condition = who.condition() if who is not None else None
    return [] if condition is None else [condition]


def _scoped(tenant_id: uuid.UUID, who: Reach) -> list[sa.ColumnElement[bool]]:
    return [trade_order.c.tenant_id == tenant_id, *_reach_conditions(who)]


# --- writing ---------------------------------------------------------------------------


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
            "order_type": order.order_type,
            "channel": order.channel,
            "status": order.status,
            "currency": order.total.currency,
            "list_amount": order.list_amount,
            "discount_amount": order.discount_amount,
            "delivery_fee": order.delivery_fee,
            "total_amount": order.total.amount,
            "deposit_amount": order.deposit_amount,
            "paid_amount": order.paid_amount,
            "external_id": order.external_id,
            "placed_at": order.placed_at,
            "status_changed_at": order.placed_at,
            "member_id": order.member_id,
            "member_subject": order.member_subject,
        },
    )
    return written is not None


# Placement's own rows as parts of the unit of work's write batch (one round trip with
# the other centers' rows): the order (``placed`` returns its id only when its random
# number was free), then its sub-orders, lines, discounts and first history entry, each
# written only if the order was. Order of columns as in the models.
def add_placement(
    batch: Batch,
    tenant_id: uuid.UUID,
    order: OrderInfo,
    subs: Sequence[SubOrderInfo],
    lines: Sequence[OrderLineInfo],
    discounts: Sequence[LineDiscountInfo],
    *,
    actor: str,
    reason: str,
) -> str:
    """Add the order and its rows to ``batch``; returns the condition "the order was
    inserted" for the other parts of the placement."""
    t = batch.arg(tenant_id, "uuid")
    o = batch.arg(order.id, "uuid")
    at = batch.arg(order.placed_at, "timestamptz")
    batch.add(
        "placed",
        f"""INSERT INTO "order".trade_order
          (tenant_id, id, number, store_id, buyer_subject, order_type, channel, status,
           currency, list_amount, discount_amount, delivery_fee, total_amount, deposit_amount,
           paid_amount, refunded_amount, external_id, placed_at, status_changed_at,
           member_id, member_subject)
        VALUES ({t}, {o}, {batch.arg(order.number, "text")}, {batch.arg(order.store_id, "uuid")},
          {batch.arg(order.buyer_subject, "text")}, {batch.arg(order.order_type, "text")},
          {batch.arg(order.channel, "text")}, {batch.arg(order.status, "text")},
          {batch.arg(order.total.currency, "text")}, {batch.arg(order.list_amount, "bigint")},
          {batch.arg(order.discount_amount, "bigint")}, {batch.arg(order.delivery_fee, "bigint")},
          {batch.arg(order.total.amount, "bigint")}, {batch.arg(order.deposit_amount, "bigint")},
          {batch.arg(order.paid_amount, "bigint")}, 0, {batch.arg(order.external_id, "text")},
          {at}, {at}, {batch.arg(order.member_id, "uuid")},
          {batch.arg(order.member_subject, "text")})
        ON CONFLICT (tenant_id, number) DO NOTHING RETURNING id""",  # noqa: S608 -- $n values
    )
    when = "EXISTS (SELECT 1 FROM placed)"
    batch.add(
        "placed_subs",
        f"""INSERT INTO "order".sub_order
          (tenant_id, order_id, sub_no, split_key, store_id, list_amount, discount_amount,
           delivery_fee, payable_amount, refunded_amount)
        SELECT {t}, {o}, s.*, 0 FROM unnest(
          {batch.arg([s.sub_no for s in subs], "int[]")},
          {batch.arg([s.split_key for s in subs], "text[]")},
          {batch.arg([s.store_id for s in subs], "uuid[]")},
          {batch.arg([s.list_amount.amount for s in subs], "bigint[]")},
          {batch.arg([s.discount_amount.amount for s in subs], "bigint[]")},
          {batch.arg([s.delivery_fee.amount for s in subs], "bigint[]")},
          {batch.arg([s.payable_amount.amount for s in subs], "bigint[]")}) AS s
        WHERE {when}""",  # noqa: S608 -- values are $n parameters
    )
    batch.add(
        "placed_lines",
        f"""INSERT INTO "order".order_line
          (tenant_id, order_id, line_no, sub_no, sku_id, sku_code, sku_name, unit_price_amount,
           quantity, line_amount, discount_amount, payable_amount, refunded_amount)
        SELECT {t}, {o}, l.*, 0 FROM unnest(
          {batch.arg([line.line_no for line in lines], "int[]")},
          {batch.arg([line.sub_no for line in lines], "int[]")},
          {batch.arg([line.sku_id for line in lines], "uuid[]")},
          {batch.arg([line.sku_code for line in lines], "text[]")},
          {batch.arg([line.sku_name for line in lines], "text[]")},
          {batch.arg([line.unit_price.amount for line in lines], "bigint[]")},
          {batch.arg([line.quantity for line in lines], "int[]")},
          {batch.arg([line.amount.amount for line in lines], "bigint[]")},
          {batch.arg([_amount(line.discount) for line in lines], "bigint[]")},
          {batch.arg([_amount(line.payable) for line in lines], "bigint[]")}) AS l
        WHERE {when}""",  # noqa: S608 -- values are $n parameters
    )
    if discounts:
        seqs: dict[int, int] = {}
        numbered = []
        for d in discounts:
            seqs[d.line_no] = seqs.get(d.line_no, 0) + 1
            numbered.append((d, seqs[d.line_no]))
        batch.add(
            "placed_discounts",
            f"""INSERT INTO "order".order_line_discount
              (tenant_id, order_id, line_no, seq, source, source_id, label, amount)
            SELECT {t}, {o}, d.* FROM unnest(
              {batch.arg([d.line_no for d, _ in numbered], "int[]")},
              {batch.arg([seq for _, seq in numbered], "int[]")},
              {batch.arg([d.source for d, _ in numbered], "text[]")},
              {batch.arg([d.source_id for d, _ in numbered], "uuid[]")},
              {batch.arg([d.label for d, _ in numbered], "text[]")},
              {batch.arg([d.amount.amount for d, _ in numbered], "bigint[]")}) AS d
            WHERE {when}""",  # noqa: S608 -- values are $n parameters
        )
    batch.add(
        "placed_history",
        f"""INSERT INTO "order".order_history
          (tenant_id, order_id, seq, at, actor, event, from_status, to_status, reason,
           idempotency_key)
        SELECT {t}, {o}, 1, {at}, {batch.arg(actor, "text")}, 'PLACE', NULL,
          {batch.arg(order.status, "text")}, {batch.arg(reason, "text")}, NULL
        WHERE {when}""",
    )
    return when


def announce_placed(batch: Batch, payload: str) -> str:
    """The placement batch's final query: the order's id if it was written, and the
    change notification (``notify_change``; delivered at commit, never on rollback)."""
    return (
        f"SELECT id, pg_notify('{NOTIFY_CHANNEL}', {batch.arg(payload, 'text')})"  # noqa: S608
        " FROM placed"
    )


def change_payload(
    tenant_id: uuid.UUID,
    order: OrderInfo,
    *,
    event: str,
    from_status: str | None,
    at: datetime,
    seq: int,
) -> str:
    """What ``notify_change`` announces on ``NOTIFY_CHANNEL``."""
    return json.dumps(
        {
            "tenant": str(tenant_id),
            "store": str(order.store_id),
            "order": str(order.id),
            "seq": seq,
            "event": event,
            "from": from_status,
            "to": order.status,
            "at": at.isoformat(),
        }
    )


def _amount(value: Money | None) -> int:
    if value is None:
        raise ValueError("a stored line carries all its amounts")
    return value.amount


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
                "sub_no": line.sub_no,
                "sku_id": line.sku_id,
                "sku_code": line.sku_code,
                "sku_name": line.sku_name,
                "unit_price_amount": line.unit_price.amount,
                "quantity": line.quantity,
                "line_amount": line.amount.amount,
                "discount_amount": _amount(line.discount),
                "payable_amount": _amount(line.payable),
                "refunded_amount": 0,
            }
            for line in lines
        ],
    )


async def insert_sub_orders(
    session: AsyncSession, tenant_id: uuid.UUID, subs: Sequence[SubOrderInfo]
) -> None:
    await session.execute(
        _INSERT_SUBS,
        [
            {
                "tenant_id": tenant_id,
                "order_id": s.order_id,
                "sub_no": s.sub_no,
                "split_key": s.split_key,
                "store_id": s.store_id,
                "list_amount": s.list_amount.amount,
                "discount_amount": s.discount_amount.amount,
                "delivery_fee": s.delivery_fee.amount,
                "payable_amount": s.payable_amount.amount,
                "refunded_amount": 0,
            }
            for s in subs
        ],
    )


async def insert_discounts(
    session: AsyncSession, tenant_id: uuid.UUID, discounts: Sequence[LineDiscountInfo]
) -> None:
    if not discounts:
        return
    seqs: dict[int, int] = {}
    rows = []
    for d in discounts:
        seqs[d.line_no] = seqs.get(d.line_no, 0) + 1
        rows.append(
            {
                "tenant_id": tenant_id,
                "order_id": d.order_id,
                "line_no": d.line_no,
                "seq": seqs[d.line_no],
                "source": d.source,
                "source_id": d.source_id,
                "label": d.label,
                "amount": d.amount.amount,
            }
        )
    await session.execute(_INSERT_DISCOUNTS, rows)


async def lock_order(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, buyer: str | None
) -> OrderInfo | None:
    """The order, row-locked until the transaction ends: transitions queue here, so of
    two conflicting ones the second sees the first's result."""
    query = _LOCK if buyer is None else _LOCK.where(trade_order.c.buyer_subject == buyer)
    row = (await session.execute(query, {"tenant_id": tenant_id, "order_id": order_id})).first()
    return _order(row) if row else None


async def update_order(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, values: dict[str, Any]
) -> OrderInfo:
    row = (
        await session.execute(
            trade_order.update()
            .where(trade_order.c.tenant_id == tenant_id, trade_order.c.id == order_id)
            .values(**values)
            .returning(*_order_columns)
        )
    ).one()
    return _order(row)


@dataclass(frozen=True, slots=True)
class KeyedEntry:
    event: str
    to_status: str


async def history_by_key(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, key: str
) -> KeyedEntry | None:
    row = (
        await session.execute(
            sa.select(order_history.c.event, order_history.c.to_status).where(
                order_history.c.tenant_id == tenant_id,
                order_history.c.order_id == order_id,
                order_history.c.idempotency_key == key,
            )
        )
    ).first()
    return KeyedEntry(event=row.event, to_status=row.to_status) if row else None


async def append_history(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    *,
    at: datetime,
    actor: str,
    event: str,
    from_status: str | None,
    to_status: str,
    reason: str,
    idempotency_key: str | None,
    first: bool = False,
) -> int:
    """Append one entry; its sequence number. Callers hold the order's row lock (or just
    created it), so the next sequence number cannot race."""
    seq = (
        1
        if first
        else await session.scalar(
            sa.select(sa.func.coalesce(sa.func.max(order_history.c.seq), 0) + 1).where(
                order_history.c.tenant_id == tenant_id, order_history.c.order_id == order_id
            )
        )
    )
    await session.execute(
        _INSERT_HISTORY,
        {
            "tenant_id": tenant_id,
            "order_id": order_id,
            "seq": seq,
            "at": at,
            "actor": actor,
            "event": event,
            "from_status": from_status,
            "to_status": to_status,
            "reason": reason,
            "idempotency_key": idempotency_key,
        },
    )
    return int(seq or 1)


async def notify_change(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order: OrderInfo,
    *,
    event: str,
    from_status: str | None,
    at: datetime,
    seq: int,
) -> None:
    """Announce the change to every listening process; PostgreSQL delivers it at commit
    (never for a rolled-back change). ``seq`` is its history entry's."""
    payload = change_payload(tenant_id, order, event=event, from_status=from_status, at=at, seq=seq)
    await session.execute(_NOTIFY, {"payload": payload})


# Read on every placement: built once.
_GET_SETTINGS = sa.select(order_setting).where(
    order_setting.c.tenant_id == sa.bindparam("tenant_id")
)


_SETTINGS_JSON = (
    "SELECT json_build_object('payment_timeout_seconds', payment_timeout_seconds,"
    " 'after_sale_days', after_sale_days, 'delivery_fee', delivery_fee,"
    " 'free_delivery_from', free_delivery_from,"
    " 'presale_deposit_percent', presale_deposit_percent,"
    " 'presale_balance_hours', presale_balance_hours,"
    " 'review_orders_per_hour', review_orders_per_hour,"
    " 'review_discount_percent', review_discount_percent)"
    ' FROM "order".order_setting WHERE tenant_id = {tenant_id}'
)


def settings_in(batch: Batch, tenant_id: uuid.UUID) -> Column[OrderSettings]:
    """``get_settings`` as a column of ``batch`` (defaults when never saved)."""

    def decode(value: Any) -> OrderSettings:
        return OrderSettings() if value is None else OrderSettings(**value)

    return batch.column(
        batch.fresh("order_settings"),
        _SETTINGS_JSON.format(tenant_id=batch.arg(tenant_id, "uuid")),
        decode,
    )


async def get_settings(session: AsyncSession, tenant_id: uuid.UUID) -> OrderSettings:
    row = (await session.execute(_GET_SETTINGS, {"tenant_id": tenant_id})).first()
    if row is None:
        return OrderSettings()
    return OrderSettings(
        payment_timeout_seconds=row.payment_timeout_seconds,
        after_sale_days=row.after_sale_days,
        delivery_fee=row.delivery_fee,
        free_delivery_from=row.free_delivery_from,
        presale_deposit_percent=row.presale_deposit_percent,
        presale_balance_hours=row.presale_balance_hours,
        review_orders_per_hour=row.review_orders_per_hour,
        review_discount_percent=row.review_discount_percent,
    )


async def save_settings(
    session: AsyncSession, tenant_id: uuid.UUID, settings: OrderSettings
) -> OrderSettings:
    values = {
        "payment_timeout_seconds": settings.payment_timeout_seconds,
        "after_sale_days": settings.after_sale_days,
        "delivery_fee": settings.delivery_fee,
        "free_delivery_from": settings.free_delivery_from,
        "presale_deposit_percent": settings.presale_deposit_percent,
        "presale_balance_hours": settings.presale_balance_hours,
        "review_orders_per_hour": settings.review_orders_per_hour,
        "review_discount_percent": settings.review_discount_percent,
    }
    await session.execute(
        insert(order_setting)
        .values(tenant_id=tenant_id, **values)
        .on_conflict_do_update(index_elements=["tenant_id"], set_=values)
    )
    return settings


# --- reading ---------------------------------------------------------------------------


async def orders_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID], buyer: Reach
) -> list[OrderInfo]:
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_order_columns).where(*_scoped(tenant_id, buyer), trade_order.c.id.in_(ids))
    )
    return [_order(row) for row in rows.all()]


async def order_by_number(
    session: AsyncSession, tenant_id: uuid.UUID, number: str, buyer: Reach
) -> OrderInfo | None:
    row = (
        await session.execute(
            sa.select(*_order_columns).where(
                *_scoped(tenant_id, buyer), trade_order.c.number == number
            )
        )
    ).first()
    return _order(row) if row else None


async def count_orders_since(
    session: AsyncSession, tenant_id: uuid.UUID, buyer: str, since: datetime
) -> int:
    """How many orders ``buyer`` placed since ``since`` (the frequency review rule)."""
    count = await session.scalar(
        sa.select(sa.func.count())
        .select_from(trade_order)
        .where(*_scoped(tenant_id, buyer), trade_order.c.placed_at >= since)
    )
    return int(count or 0)


async def order_by_external_id(
    session: AsyncSession, tenant_id: uuid.UUID, channel: str, external_id: str
) -> OrderInfo | None:
    row = (
        await session.execute(
            sa.select(*_order_columns).where(
                trade_order.c.tenant_id == tenant_id,
                trade_order.c.channel == channel,
                trade_order.c.external_id == external_id,
            )
        )
    ).first()
    return _order(row) if row else None


@dataclass(frozen=True, slots=True)
class OrderFilter:
    buyer: str | None = None  # the ownership filter (or a staff member's buyer filter)
    reach: OrderReach | None = None  # what the caller may see at all
    store_id: uuid.UUID | None = None
    statuses: tuple[str, ...] = ()
    order_type: str | None = None
    channel: str | None = None
    placed_from: datetime | None = None
    placed_before: datetime | None = None


async def list_orders(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageRequest, where: OrderFilter
) -> list[OrderInfo]:
    """Newest first (ids are time-ordered UUIDv7)."""
    query = sa.select(*_order_columns).where(
        *_scoped(tenant_id, where.buyer), *_reach_conditions(where.reach)
    )
    if where.store_id is not None:
        query = query.where(trade_order.c.store_id == where.store_id)
    if where.statuses:
        query = query.where(trade_order.c.status.in_(where.statuses))
    if where.order_type is not None:
        query = query.where(trade_order.c.order_type == where.order_type)
    if where.channel is not None:
        query = query.where(trade_order.c.channel == where.channel)
    if where.placed_from is not None:
        query = query.where(trade_order.c.placed_at >= where.placed_from)
    if where.placed_before is not None:
        query = query.where(trade_order.c.placed_at < where.placed_before)
    after = page.after_id()
    if after is not None:
        query = query.where(trade_order.c.id < after)
    rows = await session.execute(query.order_by(trade_order.c.id.desc()).limit(page.limit))
    return [_order(row) for row in rows.all()]


# The lines of a page of orders, read on every orders page: straight on the connection.
_LINES_BY_ORDERS = prepared.Statement(
    "SELECT l.order_id, l.line_no, l.sub_no, l.sku_id, l.sku_code, l.sku_name, "
    "l.unit_price_amount, l.quantity, l.line_amount, l.discount_amount, l.payable_amount, "
    "l.refunded_amount, o.currency "
    'FROM "order".order_line l JOIN "order".trade_order o '
    "ON o.tenant_id = l.tenant_id AND o.id = l.order_id "
    "WHERE l.tenant_id = $1 AND l.order_id = ANY($2::uuid[]) ORDER BY l.order_id, l.line_no"
)


async def lines_by_orders(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, OrderLineInfo]]:
    if not order_ids:
        return []
    rows = await prepared.fetch(session, _LINES_BY_ORDERS, tenant_id, list(order_ids))
    return [
        (
            order_id,
            OrderLineInfo(
                line_no=line_no,
                sku_id=sku_id,
                sku_code=sku_code,
                sku_name=sku_name,
                unit_price=Money(unit_price, currency),
                quantity=quantity,
                amount=Money(line_amount, currency),
                sub_no=sub_no,
                discount=Money(discount, currency),
                payable=Money(payable, currency),
                refunded=Money(refunded, currency),
            ),
        )
        for (
            order_id,
            line_no,
            sub_no,
            sku_id,
            sku_code,
            sku_name,
            unit_price,
            quantity,
            line_amount,
            discount,
            payable,
            refunded,
            currency,
        ) in rows
    ]


def _with_order_currency(table: sa.Table) -> sa.Select[Any]:
    """Rows of an order's child table with the order's currency (amounts are stored
    as minor units; the currency lives once, on the order)."""
    return sa.select(table, trade_order.c.currency).join(
        trade_order,
        sa.and_(
            trade_order.c.tenant_id == table.c.tenant_id,
            trade_order.c.id == table.c.order_id,
        ),
    )


async def sub_orders_by_orders(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> list[SubOrderInfo]:
    if not order_ids:
        return []
    rows = await session.execute(
        _with_order_currency(sub_order)
        .where(sub_order.c.tenant_id == tenant_id, sub_order.c.order_id.in_(order_ids))
        .order_by(sub_order.c.order_id, sub_order.c.sub_no)
    )
    return [
        SubOrderInfo(
            order_id=row.order_id,
            sub_no=row.sub_no,
            split_key=row.split_key,
            store_id=row.store_id,
            list_amount=Money(row.list_amount, row.currency),
            discount_amount=Money(row.discount_amount, row.currency),
            delivery_fee=Money(row.delivery_fee, row.currency),
            payable_amount=Money(row.payable_amount, row.currency),
            refunded_amount=Money(row.refunded_amount, row.currency),
        )
        for row in rows.all()
    ]


async def discounts_by_orders(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> list[LineDiscountInfo]:
    if not order_ids:
        return []
    rows = await session.execute(
        _with_order_currency(line_discount)
        .where(line_discount.c.tenant_id == tenant_id, line_discount.c.order_id.in_(order_ids))
        .order_by(line_discount.c.order_id, line_discount.c.line_no, line_discount.c.seq)
    )
    return [
        LineDiscountInfo(
            order_id=row.order_id,
            line_no=row.line_no,
            source=row.source,
            source_id=row.source_id,
            label=row.label,
            amount=Money(row.amount, row.currency),
        )
        for row in rows.all()
    ]


async def history_by_orders(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> list[HistoryEntry]:
    if not order_ids:
        return []
    rows = await session.execute(
        sa.select(order_history)
        .where(order_history.c.tenant_id == tenant_id, order_history.c.order_id.in_(order_ids))
        .order_by(order_history.c.order_id, order_history.c.seq)
    )
    return [
        HistoryEntry(
            order_id=row.order_id,
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            event=row.event,
            from_status=row.from_status,
            to_status=row.to_status,
            reason=row.reason,
        )
        for row in rows.all()
    ]


# --- after-sale requests -----------------------------------------------------------------

order_refund = table_of(OrderRefund)
order_refund_line = table_of(OrderRefundLine)

# Requests whose lines still count against what a line can refund.
OPEN_REFUND_STATUSES = ("REQUESTED", "REJECTED", "ARBITRATION", "AWAITING_RETURN")


async def insert_refund(session: AsyncSession, tenant_id: uuid.UUID, refund: RefundInfo) -> None:
    await session.execute(
        order_refund.insert().values(
            tenant_id=tenant_id,
            id=refund.id,
            order_id=refund.order_id,
            kind=refund.kind,
            status=refund.status,
            amount=refund.amount.amount,
            reason=refund.reason,
            note=refund.note,
            requested_by=refund.requested_by,
            requested_at=refund.requested_at,
            updated_at=refund.updated_at,
        )
    )
    await session.execute(
        order_refund_line.insert(),
        [
            {
                "tenant_id": tenant_id,
                "refund_id": refund.id,
                "line_no": line.line_no,
                "quantity": line.quantity,
                "amount": line.amount,
            }
            for line in refund.lines
        ],
    )


async def refunds_where(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *conditions: sa.ColumnElement[bool],
    limit: int = 200,
) -> list[RefundInfo]:
    rows = (
        await session.execute(
            _with_order_currency(order_refund)
            .where(order_refund.c.tenant_id == tenant_id, *conditions)
            .order_by(order_refund.c.id.desc())
            .limit(limit)
        )
    ).all()
    if not rows:
        return []
    line_rows = (
        await session.execute(
            sa.select(order_refund_line)
            .where(
                order_refund_line.c.tenant_id == tenant_id,
                order_refund_line.c.refund_id.in_([r.id for r in rows]),
            )
            .order_by(order_refund_line.c.refund_id, order_refund_line.c.line_no)
        )
    ).all()
    lines: dict[uuid.UUID, list[RefundLineInfo]] = {}
    for line in line_rows:
        lines.setdefault(line.refund_id, []).append(
            RefundLineInfo(
                line_no=line.line_no,
                quantity=line.quantity,
                amount=line.amount,
                failed_amount=line.failed_amount,
            )
        )
    return [
        RefundInfo(
            id=r.id,
            order_id=r.order_id,
            kind=r.kind,
            status=r.status,
            amount=Money(r.amount, r.currency),
            reason=r.reason,
            note=r.note,
            requested_by=r.requested_by,
            requested_at=r.requested_at,
            updated_at=r.updated_at,
            lines=tuple(lines.get(r.id, [])),
        )
        for r in rows
    ]


async def refunds_of_orders(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> list[RefundInfo]:
    if not order_ids:
        return []
    return await refunds_where(session, tenant_id, order_refund.c.order_id.in_(order_ids))


async def refund_by_id(
    session: AsyncSession, tenant_id: uuid.UUID, refund_id: uuid.UUID, buyer: Reach
) -> RefundInfo | None:
    conditions = [order_refund.c.id == refund_id, *_reach_conditions(buyer)]
    found = await refunds_where(session, tenant_id, *conditions, limit=1)
    return found[0] if found else None


async def list_refunds(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    page: PageRequest,
    *,
    buyer: Reach,
    statuses: Sequence[str],
) -> list[RefundInfo]:
    conditions = _reach_conditions(buyer)
    if statuses:
        conditions.append(order_refund.c.status.in_(statuses))
    after = page.after_id()
    if after is not None:
        conditions.append(order_refund.c.id < after)
    return await refunds_where(session, tenant_id, *conditions, limit=page.limit)


async def set_refund_status(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    refund_id: uuid.UUID,
    *,
    status: str,
    note: str,
    at: datetime,
) -> None:
    await session.execute(
        order_refund.update()
        .where(order_refund.c.tenant_id == tenant_id, order_refund.c.id == refund_id)
        .values(status=status, note=note, updated_at=at)
    )


async def add_refunded(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    line_amounts: dict[int, int],
    *,
    sign: int = 1,
) -> None:
    """Count refunded money on the lines, their sub-orders and the order (``sign=-1``:
    take a refused refund off again). Line number 0 is the delivery fee: counted on the
    sub-orders in proportion to their fees."""
    total = 0
    per_sub: dict[int, int] = {}
    fee = line_amounts.get(0, 0)
    line_amounts = {k: sign * v for k, v in line_amounts.items() if k != 0}
    if fee:
        fees = (
            await session.execute(
                sa.select(sub_order.c.sub_no, sub_order.c.delivery_fee)
                .where(sub_order.c.tenant_id == tenant_id, sub_order.c.order_id == order_id)
                .order_by(sub_order.c.sub_no)
            )
        ).all()
        for (sub_no, _), part in zip(
            fees, allocate(fee, [row.delivery_fee for row in fees]), strict=True
        ):
            if part:
                per_sub[sub_no] = sign * part
        total += sign * fee
    rows = await session.execute(
        sa.select(order_line.c.line_no, order_line.c.sub_no).where(
            order_line.c.tenant_id == tenant_id,
            order_line.c.order_id == order_id,
            order_line.c.line_no.in_(list(line_amounts)),
        )
    )
    subs: dict[int, int] = {row.line_no: row.sub_no for row in rows}
    for line_no, amount in line_amounts.items():
        await session.execute(
            order_line.update()
            .where(
                order_line.c.tenant_id == tenant_id,
                order_line.c.order_id == order_id,
                order_line.c.line_no == line_no,
            )
            .values(refunded_amount=order_line.c.refunded_amount + amount)
        )
        per_sub[subs[line_no]] = per_sub.get(subs[line_no], 0) + amount
        total += amount
    for sub_no, amount in per_sub.items():
        await session.execute(
            sub_order.update()
            .where(
                sub_order.c.tenant_id == tenant_id,
                sub_order.c.order_id == order_id,
                sub_order.c.sub_no == sub_no,
            )
            .values(refunded_amount=sub_order.c.refunded_amount + amount)
        )
    await session.execute(
        trade_order.update()
        .where(trade_order.c.tenant_id == tenant_id, trade_order.c.id == order_id)
        .values(refunded_amount=trade_order.c.refunded_amount + total)
    )


async def stores_of_orders(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID | None]:
    """Each found order's store (what a role held at a store is checked against)."""
    rows = await session.execute(
        sa.select(trade_order.c.id, trade_order.c.store_id).where(
            trade_order.c.tenant_id == tenant_id, trade_order.c.id.in_(ids)
        )
    )
    return {order_id: store_id for order_id, store_id in rows.all()}


async def stores_of_refunds(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID | None]:
    """Each found after-sale request's store: its order's."""
    rows = await session.execute(
        sa.select(order_refund.c.id, trade_order.c.store_id)
        .join(
            trade_order,
            sa.and_(
                trade_order.c.tenant_id == order_refund.c.tenant_id,
                trade_order.c.id == order_refund.c.order_id,
            ),
        )
        .where(order_refund.c.tenant_id == tenant_id, order_refund.c.id.in_(ids))
    )
    return {refund_id: store_id for refund_id, store_id in rows.all()}


async def add_failed_refund(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    refund_id: uuid.UUID,
    line_amounts: dict[int, int],
) -> None:
    """Keep what the provider refused on the after-sale request's lines."""
    for line_no, amount in line_amounts.items():
        await session.execute(
            order_refund_line.update()
            .where(
                order_refund_line.c.tenant_id == tenant_id,
                order_refund_line.c.refund_id == refund_id,
                order_refund_line.c.line_no == line_no,
            )
            .values(failed_amount=order_refund_line.c.failed_amount + amount)
        )


async def clear_failed_refund(
    session: AsyncSession, tenant_id: uuid.UUID, refund_id: uuid.UUID
) -> None:
    await session.execute(
        order_refund_line.update()
        .where(
            order_refund_line.c.tenant_id == tenant_id,
            order_refund_line.c.refund_id == refund_id,
        )
        .values(failed_amount=0)
    )


@dataclass(frozen=True, slots=True)
class StoreChange:
    """One announced change of an order of a store, as ``orderEvents`` replays it."""

    order_id: uuid.UUID
    seq: int
    at: datetime
    event: str
    from_status: str | None
    to_status: str


async def changes_of_store(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    *,
    since: datetime,
    events: Sequence[str],
    limit: int,
) -> list[StoreChange]:
    """History entries of the store's orders at or after ``since`` whose event is one
    of ``events`` (what ``notify_change`` announced), oldest first."""
    rows = await session.execute(
        sa.select(
            order_history.c.order_id,
            order_history.c.seq,
            order_history.c.at,
            order_history.c.event,
            order_history.c.from_status,
            order_history.c.to_status,
        )
        .join(
            trade_order,
            sa.and_(
                trade_order.c.tenant_id == order_history.c.tenant_id,
                trade_order.c.id == order_history.c.order_id,
            ),
        )
        .where(
            order_history.c.tenant_id == tenant_id,
            trade_order.c.store_id == store_id,
            order_history.c.at >= since,
            order_history.c.event.in_(list(events)),
        )
        .order_by(order_history.c.at, order_history.c.order_id, order_history.c.seq)
        .limit(limit)
    )
    return [StoreChange(*row) for row in rows.all()]
