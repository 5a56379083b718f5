"""DataLoaders of the order center, one per request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.order import repository
from centers.order.dto import (
    HistoryEntry,
    LineDiscountInfo,
    OrderInfo,
    OrderLineInfo,
    RefundInfo,
    SubOrderInfo,
)
from kernel.context import RequestContext
from kernel.graphql.batching import many_per_key, one_per_key


def orders(
    context: RequestContext, buyer: repository.Reach
) -> DataLoader[uuid.UUID, OrderInfo | None]:
    """Orders by id, as visible to the caller (``buyer``: only what it reaches)."""

    async def load(ids: Sequence[uuid.UUID]) -> list[OrderInfo | None]:
        rows = await repository.orders_by_ids(context.session, context.tenant_id, ids, buyer)
        return one_per_key(ids, rows, lambda row: row.id)

    return context.loader(("order.orders", buyer), lambda: DataLoader(load_fn=load))


def lines(context: RequestContext) -> DataLoader[uuid.UUID, list[OrderLineInfo]]:
    async def load(order_ids: Sequence[uuid.UUID]) -> list[list[OrderLineInfo]]:
        rows = await repository.lines_by_orders(context.session, context.tenant_id, order_ids)
        return [
            [line for _, line in pairs]
            for pairs in many_per_key(order_ids, rows, lambda pair: pair[0])
        ]

    return context.loader("order.lines", lambda: DataLoader(load_fn=load))


def sub_orders(context: RequestContext) -> DataLoader[uuid.UUID, list[SubOrderInfo]]:
    async def load(order_ids: Sequence[uuid.UUID]) -> list[list[SubOrderInfo]]:
        rows = await repository.sub_orders_by_orders(context.session, context.tenant_id, order_ids)
        return many_per_key(order_ids, rows, lambda row: row.order_id)

    return context.loader("order.sub_orders", lambda: DataLoader(load_fn=load))


def discounts(context: RequestContext) -> DataLoader[uuid.UUID, list[LineDiscountInfo]]:
    async def load(order_ids: Sequence[uuid.UUID]) -> list[list[LineDiscountInfo]]:
        rows = await repository.discounts_by_orders(context.session, context.tenant_id, order_ids)
        return many_per_key(order_ids, rows, lambda row: row.order_id)

    return context.loader("order.discounts", lambda: DataLoader(load_fn=load))


def history(context: RequestContext) -> DataLoader[uuid.UUID, list[HistoryEntry]]:
    async def load(order_ids: Sequence[uuid.UUID]) -> list[list[HistoryEntry]]:
        rows = await repository.history_by_orders(context.session, context.tenant_id, order_ids)
        return many_per_key(order_ids, rows, lambda row: row.order_id)

    return context.loader("order.history", lambda: DataLoader(load_fn=load))


def refunds(context: RequestContext) -> DataLoader[uuid.UUID, list[RefundInfo]]:
    async def load(order_ids: Sequence[uuid.UUID]) -> list[list[RefundInfo]]:
        rows = await repository.refunds_of_orders(context.session, context.tenant_id, order_ids)
        return many_per_key(order_ids, rows, lambda row: row.order_id)

    return context.loader("order.refunds", lambda: DataLoader(load_fn=load))


def order_stores(context: RequestContext) -> DataLoader[uuid.UUID, uuid.UUID | None]:
    """Each order's store (None: no such order): what roles held at a store check."""

    async def load(ids: Sequence[uuid.UUID]) -> list[uuid.UUID | None]:
        found = await repository.stores_of_orders(context.session, context.tenant_id, ids)
        return [found.get(order_id) for order_id in ids]

    return context.loader("order.order_stores", lambda: DataLoader(load_fn=load))
