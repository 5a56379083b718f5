"""``orderEvents(storeId)``: new and changed orders of one store, as they commit.

Every change is announced by ``pg_notify`` in the transaction that makes it
(repository.notify_change); each server process LISTENs once and fans out. A subscriber
only ever receives its own tenant's events (the filter is the token's tenant), for a
store of that tenant.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from centers.order import loaders, policy
from centers.order.graphql.types import Ctx, Order, OrderStatus, visible_orders
from centers.order.repository import NOTIFY_CHANNEL
from centers.store import api as store_api
from kernel.errors import NotFoundError
from kernel.graphql.fields import StoreArg
from kernel.graphql.ids import try_parse_id
from kernel.graphql.subscriptions import listen, subscription


@strawberry.type(description="An order was placed or changed state.")
class OrderChange:
    event: str = strawberry.field(description="PLACE, or the state-machine event applied.")
    from_status: str | None = strawberry.field(graphql_type=OrderStatus | None)
    to_status: str = strawberry.field(graphql_type=OrderStatus)
    at: datetime
    order_id: strawberry.ID

    @strawberry.field(description="The order as it is now.")
    async def order(self, info: Ctx) -> Order | None:
        context = info.context
        found = await loaders.orders(context, visible_orders(context)).load(
            uuid.UUID(str(self.order_id))
        )
        return Order.of(found) if found else None


@strawberry.type
class Subscription:
    @subscription(
        policy.READ_ANY_ORDER,
        store=StoreArg("storeId"),
        description="New and changed orders of one store (POS, kitchen display), within a "
        "second of their commit. Over WebSocket, protocol graphql-transport-ws.",
    )
    async def order_events(
        self, info: Ctx, store_id: strawberry.ID
    ) -> AsyncGenerator[OrderChange, None]:
        context = info.context
        store = try_parse_id(store_id)
        async with context.db.unit_of_work(context.tenant_id) as session:
            found = await store_api.get_store(session, context.tenant_id, store) if store else None
        if found is None:
            raise NotFoundError("store not found")
        tenant, wanted = str(context.tenant_id), str(store)
        async with listen(context.db, NOTIFY_CHANNEL) as queue:
            while True:
                payload = json.loads(await queue.get())
                if payload.get("tenant") != tenant or payload.get("store") != wanted:
                    continue
                yield OrderChange(
                    event=payload["event"],
                    from_status=payload["from"],
                    to_status=payload["to"],
                    at=datetime.fromisoformat(payload["at"]),
                    order_id=strawberry.ID(payload["order"]),
                )
