"""GraphQL types of the fulfillment subgraph; ``Order``, ``Store`` and ``Sku`` are other
centers' entities (stubs here)."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry import Info

from centers.fulfillment import loaders, policy, service
from centers.fulfillment.dto import (
    DispatchPlan,
    PickupPointInfo,
    RiderStatus,
    ShipmentInfo,
    ShipmentLineInfo,
    ShipmentStatus,
    TrackingEvent,
)
from kernel.authz.stores import covers
from kernel.context import RequestContext
from kernel.graphql.ids import try_parse_id

Ctx = Info[RequestContext, None]

# The domain enums are the schema's enums: one list of names, no mapping to drift.
strawberry.enum(
    ShipmentStatus,
    description="PENDING → PREPARING → READY → SHIPPED → DELIVERED → CONFIRMED, or READY → "
    "PICKED_UP; CANCELLED before it leaves; MERGED into another shipment.",
)
strawberry.enum(
    RiderStatus, description="A rider's progress: ASSIGNED → AT_STORE → PICKED_UP → DELIVERED."
)


def _id(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))


# The store center owns Store; a shipment only points at it.
@strawberry.federation.type(keys=["id"])
class Store:
    id: strawberry.ID


# The product center owns Sku.
@strawberry.federation.type(keys=["id"])
class Sku:
    id: strawberry.ID


@strawberry.type(description="Where one line ships from, chosen by dispatch.")
class DispatchAssignment:
    sku: Sku
    quantity: int
    location_id: strawberry.ID
    location_name: str
    location_kind: str = strawberry.field(description="STORE or WAREHOUSE.")


@strawberry.type(description="How dispatch saw one location.")
class DispatchCandidate:
    location_id: strawberry.ID
    name: str
    kind: str
    priority: int
    distance_meters: int | None
    lines_covered: int
    chosen: bool
    note: str


@strawberry.type(description="Where each line of an order ships from, and why (派单).")
class Dispatch:
    order_id: strawberry.ID
    assignments: list[DispatchAssignment]
    candidates: list[DispatchCandidate]
    explanation: list[str] = strawberry.field(description="The rules applied, in order.")

    @classmethod
    def of(cls, value: DispatchPlan) -> Dispatch:
        return cls(
            order_id=_id(value.order_id),
            assignments=[
                DispatchAssignment(
                    sku=Sku(id=_id(a.sku_id)),
                    quantity=a.quantity,
                    location_id=_id(a.location_id),
                    location_name=a.location_name,
                    location_kind=a.location_kind,
                )
                for a in value.assignments
            ],
            candidates=[
                DispatchCandidate(
                    location_id=_id(c.location_id),
                    name=c.name,
                    kind=c.kind,
                    priority=c.priority,
                    distance_meters=c.distance_m,
                    lines_covered=c.lines_covered,
                    chosen=c.chosen,
                    note=c.note,
                )
                for c in value.candidates
            ],
            explanation=list(value.explanation),
        )


# The order center owns Order and describes it; this stub adds shipments and dispatch.
@strawberry.federation.type(keys=["id"])
class Order:
    id: strawberry.ID

    # Reached through a shipment (``Shipment.order``) these fields skip the entity
    # permission, so a role held at a store gets here: the order's shipments from its
    # stores only, and the plan (every location's) only with a tenant-wide grant, as
    # the ``dispatch`` root field.
    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Order | None:
        """One of the tenant's orders: the order center's, or one only fulfillment knows
        (shipments or a dispatch plan for an outside order). A role held at a store
        reaches its stores' orders only; anything else is null, as another tenant's."""
        order_id = try_parse_id(id)
        if order_id is None:
            return None
        context = info.context
        store = await loaders.order_stores(context).load(order_id)
        if store is not None:
            return cls(id=id) if context.allows_at(policy.READ_SHIPMENT, store) else None
        # Not the order center's: the stores of the shipments carrying it decide.
        scope = context.stores(policy.READ_SHIPMENT)
        found = await loaders.shipments_by_order(context).load(order_id)
        if any(covers(scope, s.store_id) for s in found):
            return cls(id=id)
        if context.allows(policy.READ_SHIPMENT) and await loaders.dispatches(context).load(
            order_id
        ):
            return cls(id=id)
        return None

    @strawberry.field(description="Shipments carrying this order's lines, oldest first.")
    async def shipments(self, info: Ctx) -> list[Shipment]:
        order_id = try_parse_id(self.id)
        found = await loaders.shipments_by_order(info.context).load(order_id) if order_id else []
        scope = info.context.stores(policy.READ_SHIPMENT)
        return [Shipment.of(s) for s in found if covers(scope, s.store_id)]

    @strawberry.field(description="The last dispatch plan of this order, if dispatched.")
    async def dispatch(self, info: Ctx) -> Dispatch | None:
        info.context.authorize(policy.READ_SHIPMENT)
        order_id = try_parse_id(self.id)
        found = await loaders.dispatches(info.context).load(order_id) if order_id else None
        return Dispatch.of(service.from_json(order_id, found)) if order_id and found else None


@strawberry.type(description="A pickup point (自提点) a customer can give as delivery address.")
class PickupPoint:
    id: strawberry.ID
    code: str
    name: str
    address: str
    latitude: float | None
    longitude: float | None
    store: Store | None

    @classmethod
    def of(cls, value: PickupPointInfo) -> PickupPoint:
        return cls(
            id=_id(value.id),
            code=value.code,
            name=value.name,
            address=value.address,
            latitude=value.latitude_e6 / 1e6 if value.latitude_e6 is not None else None,
            longitude=value.longitude_e6 / 1e6 if value.longitude_e6 is not None else None,
            store=Store(id=_id(value.store_id)) if value.store_id else None,
        )


@strawberry.type(description="What a shipment carries.")
class ShipmentLine:
    line_no: int
    order: Order
    sku: Sku
    quantity: int

    @classmethod
    def of(cls, value: ShipmentLineInfo) -> ShipmentLine:
        return cls(
            line_no=value.line_no,
            order=Order(id=_id(value.order_id)),
            sku=Sku(id=_id(value.sku_id)),
            quantity=value.quantity,
        )


@strawberry.type(name="TrackingEvent", description="A carrier's tracking event (物流轨迹).")
class TrackingEventType:
    occurred_at: datetime
    description: str
    location: str | None

    @classmethod
    def of(cls, value: TrackingEvent) -> TrackingEventType:
        return cls(
            occurred_at=value.occurred_at, description=value.description, location=value.location
        )


@strawberry.federation.type(
    keys=["id"],
    description="A shipment (包裹/履约单) of an order from one store: courier or pickup.",
)
class Shipment:
    id: strawberry.ID
    order: Order
    store: Store
    status: ShipmentStatus
    carrier: str | None = strawberry.field(description="Carrier code; null for pickup.")
    tracking_number: str | None
    pickup_code: str | None = strawberry.field(
        description="4-digit pickup code (取餐码) shown to the customer; null for couriers."
    )
    created_at: datetime
    rider_status: RiderStatus | None
    rider_name: str | None
    rider_phone: str | None
    pickup_point_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def of(cls, value: ShipmentInfo) -> Shipment:
        return cls(
            id=_id(value.id),
            order=Order(id=_id(value.order_id)),
            store=Store(id=_id(value.store_id)),
            status=value.status,
            carrier=value.carrier,
            tracking_number=value.tracking_number,
            pickup_code=value.pickup_code,
            created_at=value.created_at,
            rider_status=value.rider_status,
            rider_name=value.rider_name,
            rider_phone=value.rider_phone,
            pickup_point_id=value.pickup_point_id,
        )

    @strawberry.field
    async def lines(self, info: Ctx) -> list[ShipmentLine]:
        shipment_id = try_parse_id(self.id)
        found = await loaders.lines(info.context).load(shipment_id) if shipment_id else []
        return [ShipmentLine.of(x) for x in found]

    @strawberry.field(description="Carrier tracking events, oldest first.")
    async def tracking_events(self, info: Ctx) -> list[TrackingEventType]:
        shipment_id = try_parse_id(self.id)
        found = await loaders.tracking_events(info.context).load(shipment_id) if shipment_id else []
        return [TrackingEventType.of(x) for x in found]

    @strawberry.field(description="The pickup point it goes to, if any.")
    async def pickup_point(self, info: Ctx) -> PickupPoint | None:
        if self.pickup_point_id is None:
            return None
        found = await loaders.pickup_points(info.context).load(self.pickup_point_id)
        return PickupPoint.of(found) if found else None

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Shipment | None:
        shipment_id = try_parse_id(id)
        found = await loaders.shipments(info.context).load(shipment_id) if shipment_id else None
        # A role held at a store references its stores' shipments only (null otherwise).
        if found is None or not info.context.allows_at(policy.READ_SHIPMENT, found.store_id):
            return None
        return cls.of(found)
