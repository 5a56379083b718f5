"""DataLoaders of the order center, one per request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.order import repository
from centers.order.dto import OrderInfo, OrderLineInfo
from kernel.context import RequestContext
from kernel.graphql.batching import many_per_key, one_per_key


def orders(context: RequestContext, buyer: str | None) -> DataLoader[uuid.UUID, OrderInfo | None]:
    """Orders by id, as visible to the caller (``buyer``: only that buyer's orders)."""

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
