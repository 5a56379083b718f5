"""DataLoaders of the payment center, one per request (see ``RequestContext.loader``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

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


def order_stores(context: RequestContext) -> DataLoader[uuid.UUID, uuid.UUID | None]:
    """Each order's store, from its order payment (None: no payment): what roles held
    at a store check when an order is referenced here."""

    async def load(ids: Sequence[uuid.UUID]) -> list[uuid.UUID | None]:
        found = await repository.stores_of_orders(context.session, context.tenant_id, ids)
        return [found.get(order_id) for order_id in ids]

    return context.loader("payment.order_stores", lambda: DataLoader(load_fn=load))
