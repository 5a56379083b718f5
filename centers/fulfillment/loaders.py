"""DataLoaders of the fulfillment center, one per request (see ``RequestContext.loader``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from centers.fulfillment import repository
from centers.fulfillment.dto import PickupPointInfo, ShipmentInfo, ShipmentLineInfo, TrackingEvent
from centers.order import api as order_api
from kernel.context import RequestContext
from kernel.graphql.batching import one_per_key


def shipments(context: RequestContext) -> DataLoader[uuid.UUID, ShipmentInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[ShipmentInfo | None]:
        rows = await repository.shipments_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, rows, lambda row: row.id)

    return context.loader("fulfillment.shipments", lambda: DataLoader(load_fn=load))


def order_stores(context: RequestContext) -> DataLoader[uuid.UUID, uuid.UUID | None]:
    """Each order's store as the order center records it (``None``: no such order there)."""

    async def load(ids: Sequence[uuid.UUID]) -> list[uuid.UUID | None]:
        found = await order_api.stores_of_orders(context.session, context.tenant_id, ids)
        return [found.get(order_id) for order_id in ids]

    return context.loader("fulfillment.order_stores", lambda: DataLoader(load_fn=load))


def shipments_by_order(context: RequestContext) -> DataLoader[uuid.UUID, list[ShipmentInfo]]:
    async def load(order_ids: Sequence[uuid.UUID]) -> list[list[ShipmentInfo]]:
        found = await repository.shipments_by_order_ids(
            context.session, context.tenant_id, order_ids
        )
        return [found[i] for i in order_ids]

    return context.loader("fulfillment.shipments_by_order", lambda: DataLoader(load_fn=load))


def lines(context: RequestContext) -> DataLoader[uuid.UUID, list[ShipmentLineInfo]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[list[ShipmentLineInfo]]:
        found = await repository.lines_of(context.session, context.tenant_id, ids)
        return [found[i] for i in ids]

    return context.loader("fulfillment.lines", lambda: DataLoader(load_fn=load))


def tracking_events(context: RequestContext) -> DataLoader[uuid.UUID, list[TrackingEvent]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[list[TrackingEvent]]:
        found = await repository.events_of(context.session, context.tenant_id, ids)
        return [found[i] for i in ids]

    return context.loader("fulfillment.tracking_events", lambda: DataLoader(load_fn=load))


def pickup_points(context: RequestContext) -> DataLoader[uuid.UUID, PickupPointInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[PickupPointInfo | None]:
        rows = await repository.pickup_points_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, rows, lambda row: row.id)

    return context.loader("fulfillment.pickup_points", lambda: DataLoader(load_fn=load))


def dispatches(context: RequestContext) -> DataLoader[uuid.UUID, dict[str, Any] | None]:
    async def load(order_ids: Sequence[uuid.UUID]) -> list[dict[str, Any] | None]:
        found = await repository.dispatches_by_orders(context.session, context.tenant_id, order_ids)
        return [found.get(i) for i in order_ids]

    return context.loader("fulfillment.dispatches", lambda: DataLoader(load_fn=load))
