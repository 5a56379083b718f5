"""DataLoaders of the order center, one per request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.order import repository
from centers.order.dto import OrderInfo, OrderLineInfo
from kernel.context import RequestContext


def orders(context: RequestContext, buyer: str | None) -> DataLoader[uuid.UUID, OrderInfo | None]:
    """Orders by id, as visible to the caller (``buyer``: only that buyer's orders)."""

    async def load(ids: Sequence[uuid.UUID]) -> list[OrderInfo | None]:
        found = {
            o.id: o
            for o in await repository.orders_by_ids(context.session, context.tenant_id, ids, buyer)
        }
        return [found.get(i) for i in ids]

    return context.loader(("order.orders", buyer), lambda: DataLoader(load_fn=load))


def lines(context: RequestContext) -> DataLoader[uuid.UUID, list[OrderLineInfo]]:
    async def load(order_ids: Sequence[uuid.UUID]) -> list[list[OrderLineInfo]]:
        grouped: dict[uuid.UUID, list[OrderLineInfo]] = {i: [] for i in order_ids}
        for order_id, line in await repository.lines_by_orders(
            context.session, context.tenant_id, order_ids
        ):
            grouped[order_id].append(line)
        return [grouped[i] for i in order_ids]

    return context.loader("order.lines", lambda: DataLoader(load_fn=load))
