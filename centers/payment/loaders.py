"""DataLoaders of the payment center, one per request (see ``RequestContext.loader``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from centers.order import api as order_api
from centers.payment import repository
from centers.payment.dto import PaymentInfo
from kernel.context import RequestContext
from kernel.graphql.batching import one_per_key


def payments(context: RequestContext) -> DataLoader[uuid.UUID, PaymentInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[PaymentInfo | None]:
        rows = await repository.payments_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, rows, lambda row: row.id)

    return context.loader("payment.payments", lambda: DataLoader(load_fn=load))


def payments_by_order(context: RequestContext) -> DataLoader[uuid.UUID, list[PaymentInfo]]:
    async def load(order_ids: Sequence[uuid.UUID]) -> list[list[PaymentInfo]]:
        found = await repository.payments_by_order_ids(
            context.session, context.tenant_id, order_ids
        )
        return [found[i] for i in order_ids]

    return context.loader("payment.payments_by_order", lambda: DataLoader(load_fn=load))


@dataclass(frozen=True)
class OrderAt:
    """An order that exists, and its store (``None``: it has none)."""

    store_id: uuid.UUID | None


def order_stores(context: RequestContext) -> DataLoader[uuid.UUID, OrderAt | None]:
    """Each order's store (``None``: no such order in the tenant): the order center's
    record, else the store of its order payment (支付单) here. What a reference to an
    order checks here: it must exist, and at the caller's stores for a role held there."""

    async def load(ids: Sequence[uuid.UUID]) -> list[OrderAt | None]:
        session, tenant_id = context.session, context.tenant_id
        found: dict[uuid.UUID, uuid.UUID | None] = dict(
            await order_api.stores_of_orders(session, tenant_id, ids)
        )
        rest = [order_id for order_id in ids if order_id not in found]
        if rest:
            found.update(await repository.stores_of_orders(session, tenant_id, rest))
        return [OrderAt(found[i]) if i in found else None for i in ids]

    return context.loader("payment.order_stores", lambda: DataLoader(load_fn=load))
