"""``orderEvents(storeId, after)``: new and changed orders of one store, as they commit.

Every change is announced by ``pg_notify`` in the transaction that makes it
(repository.notify_change); each server process LISTENs once and fans out. A subscriber
only ever receives its own tenant's events (the filter is the token's tenant), for a
store of that tenant.

Each change carries a ``cursor``. A client that reconnects with ``after: <cursor>`` first
gets what it missed, replayed from the order history (which is written in the same
transaction as the notification), then the live stream. Transactions commit out of the
order of their timestamps, so the replay starts a little before the cursor: delivery
is at least once, and clients skip a change whose ``id`` they already have.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta

import strawberry

from centers.order import loaders, policy, repository
from centers.order.graphql.types import Ctx, Order, OrderStatus, visible_orders
from centers.order.machine.definitions import ALL_EVENTS
from centers.order.repository import NOTIFY_CHANNEL
from centers.store import api as store_api
from kernel.errors import NotFoundError, UserInputError
from kernel.graphql.fields import StoreArg
from kernel.graphql.ids import try_parse_id
from kernel.graphql.subscriptions import listen, subscription

# How far before the cursor a replay starts: longer than any transaction that wrote a
# change takes to commit, so none committed late is missed.
REPLAY_GRACE = timedelta(seconds=30)
# How far back a cursor may be, and how much one replay sends; beyond either, refetch.
REPLAY_MAX_AGE = timedelta(hours=24)
REPLAY_MAX_CHANGES = 2_000
# Events a notification announces (PLACE and the state machines'; not after-sale steps).
ANNOUNCED = ("PLACE", *ALL_EVENTS)


def encode_cursor(at: datetime, order_id: str, seq: int) -> str:
    raw = f"{at.isoformat()}|{order_id}|{seq}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> datetime:
    """The time a cursor stands for; ``INVALID_CURSOR`` if it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, _order, _seq = base64.urlsafe_b64decode(padded).decode().split("|")
        moment = datetime.fromisoformat(at)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise UserInputError(
            "after is not a cursor orderEvents gave", code="INVALID_CURSOR", field=["after"]
        ) from None
    if moment.tzinfo is None:
        raise UserInputError(
            "after is not a cursor orderEvents gave", code="INVALID_CURSOR", field=["after"]
        )
    return moment


@strawberry.type(description="An order was placed or changed state.")
class OrderChange:
    id: strawberry.ID = strawberry.field(
        description="Stable per change (the order and its history entry): skip one you have."
    )
    cursor: str = strawberry.field(
        description="Reconnect with orderEvents(after: cursor) to get what followed it."
    )
    event: str = strawberry.field(description="PLACE, or the state-machine event applied.")
    from_status: str | None = strawberry.field(graphql_type=OrderStatus | None)
    to_status: str = strawberry.field(graphql_type=OrderStatus)
    at: datetime
    order_id: strawberry.ID

    @classmethod
    def of(
        cls,
        order_id: str,
        seq: int,
        at: datetime,
        event: str,
        from_status: str | None,
        to_status: str,
    ) -> OrderChange:
        return cls(
            id=strawberry.ID(f"{order_id}:{seq}"),
            cursor=encode_cursor(at, order_id, seq),
            event=event,
            from_status=from_status,
            to_status=to_status,
            at=at,
            order_id=strawberry.ID(order_id),
        )

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
        "second of their commit. Over WebSocket, protocol graphql-transport-ws. With "
        "`after` (a change's cursor), what followed it is replayed first (at least once: "
        "skip ids you have). Codes: NOT_FOUND, INVALID_CURSOR, CURSOR_EXPIRED (refetch "
        "with orders(storeId:) and subscribe without after).",
    )
    async def order_events(
        self, info: Ctx, store_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[OrderChange, None]:
        context = info.context
        store = try_parse_id(store_id)
        since = decode_cursor(after) - REPLAY_GRACE if after is not None else None
        if since is not None and since < datetime.now(UTC) - REPLAY_MAX_AGE:
            raise UserInputError(
                "the cursor is older than a day; refetch the orders", code="CURSOR_EXPIRED"
            )
        async with context.db.unit_of_work(context.tenant_id) as session:
            found = await store_api.get_store(session, context.tenant_id, store) if store else None
        if found is None or store is None:
            raise NotFoundError("store not found")
        tenant, wanted = str(context.tenant_id), str(store)
        # Listen first, then read the history: a change committed in between is in both,
        # and the second copy is skipped by its id.
        async with listen(context.db, NOTIFY_CHANNEL) as queue:
            replayed: set[str] = set()
            if since is not None:
                async with context.db.unit_of_work(context.tenant_id) as session:
                    missed = await repository.changes_of_store(
                        session,
                        context.tenant_id,
                        store,
                        since=since,
                        events=ANNOUNCED,
                        limit=REPLAY_MAX_CHANGES + 1,
                    )
                if len(missed) > REPLAY_MAX_CHANGES:
                    raise UserInputError(
                        "too many changes since the cursor; refetch the orders",
                        code="CURSOR_EXPIRED",
                    )
                for change in missed:
                    replayed.add(f"{change.order_id}:{change.seq}")
                    yield OrderChange.of(
                        str(change.order_id),
                        change.seq,
                        change.at,
                        change.event,
                        change.from_status,
                        change.to_status,
                    )
            while True:
                payload = json.loads(await queue.get())
                if payload.get("tenant") != tenant or payload.get("store") != wanted:
                    continue
                if f"{payload['order']}:{payload.get('seq')}" in replayed:
                    continue
                yield OrderChange.of(
                    payload["order"],
                    int(payload.get("seq") or 0),
                    datetime.fromisoformat(payload["at"]),
                    payload["event"],
                    payload["from"],
                    payload["to"],
                )
