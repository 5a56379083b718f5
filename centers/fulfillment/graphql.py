"""The fulfillment subgraph: shipments, and ``Order.shipments`` on the order center's entity."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from centers.fulfillment import loaders, policy, service
from centers.fulfillment.dto import ShipmentInfo, ShipmentStatus
from kernel.context import RequestContext
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.subgraph import Subgraph
from kernel.graphql.types import UserError

Ctx = Info[RequestContext, None]

# The domain enum is the schema's enum: one list of names, no mapping to drift.
strawberry.enum(
    ShipmentStatus,
    description="PENDING → PREPARING → READY → SHIPPED → DELIVERED, or READY → PICKED_UP.",
)


# The store center owns Store; a shipment only points at it.
@strawberry.federation.type(keys=["id"])
class Store:
    id: strawberry.ID


# The order center owns Order and describes it; this stub only adds ``shipments``.
@strawberry.federation.type(keys=["id"])
class Order:
    id: strawberry.ID

    @strawberry.field(description="Shipments of this order, oldest first.")
    async def shipments(self, info: Ctx) -> list[Shipment]:
        order_id = try_parse_id(self.id)
        found = await loaders.shipments_by_order(info.context).load(order_id) if order_id else []
        return [Shipment.of(s) for s in found]


@strawberry.federation.type(
    keys=["id"], description="A shipment (履约单) of an order from one store: courier or pickup."
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

    @classmethod
    def of(cls, value: ShipmentInfo) -> Shipment:
        return cls(
            id=strawberry.ID(str(value.id)),
            order=Order(id=strawberry.ID(str(value.order_id))),
            store=Store(id=strawberry.ID(str(value.store_id))),
            status=value.status,
            carrier=value.carrier,
            tracking_number=value.tracking_number,
            pickup_code=value.pickup_code,
            created_at=value.created_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Shipment | None:
        shipment_id = try_parse_id(id)
        found = await loaders.shipments(info.context).load(shipment_id) if shipment_id else None
        return cls.of(found) if found else None


@strawberry.input
class CreateShipmentInput:
    order_id: strawberry.ID
    store_id: strawberry.ID
    carrier: str | None = strawberry.field(
        default=None, description="Carrier code, e.g. SF; leave out for pickup at the store."
    )
    tracking_number: str | None = strawberry.field(
        default=None, description="Only with a carrier; may come later from the booking."
    )


@strawberry.type
class CreateShipmentPayload:
    shipment: Shipment | None
    user_errors: list[UserError]


@strawberry.type
class Query:
    @query(policy.READ_SHIPMENT)
    async def shipment(self, info: Ctx, id: strawberry.ID) -> Shipment | None:
        return await Shipment.resolve_reference(info, id)


@strawberry.type
class Mutation:
    @mutation(
        policy.MANAGE_SHIPMENT,
        description="Create a shipment of an order from a store; without a carrier it is a "
        "pickup and gets a 4-digit pickup code (取餐码). Codes: INVALID_ID, INVALID_CARRIER, "
        "INVALID_TRACKING_NUMBER.",
    )
    async def create_shipment(self, info: Ctx, input: CreateShipmentInput) -> CreateShipmentPayload:
        context = info.context
        created, errors = await attempt(
            context,
            lambda: service.create_shipment(
                context.session,
                context.tenant_id,
                order_id=parse_id(input.order_id, ["input", "orderId"]),
                store_id=parse_id(input.store_id, ["input", "storeId"]),
                carrier=input.carrier,
                tracking_number=input.tracking_number,
            ),
        )
        return CreateShipmentPayload(
            shipment=Shipment.of(created) if created else None, user_errors=errors
        )


subgraph = Subgraph(
    name="fulfillment",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation),
    # Referencing an Order or a Store here reveals only shipments (or nothing but the id).
    entity_permissions={
        "Shipment": policy.READ_SHIPMENT,
        "Order": policy.READ_SHIPMENT,
        "Store": policy.READ_SHIPMENT,
    },
    grants=policy.GRANTS,
)
