"""The fulfillment subgraph: dispatch, shipments (packages) with split/merge, carriers,
tracking, riders, pickup points; ``Order.shipments`` and ``Order.dispatch``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry

from centers.fulfillment import loaders, policy, repository, service
from centers.fulfillment.dto import CourierBooking as CourierBookingValue
from centers.fulfillment.dto import (
    Destination,
    DispatchLine,
    NewShipmentLine,
    RiderStatus,
    ShipmentInfo,
    ShipmentStatus,
    TrackingEvent,
)
from centers.fulfillment.graphql.courier import (
    BookCourierInput,
    BookCourierPayload,
    CourierBooking,
    SyncShipmentTrackingInput,
    SyncShipmentTrackingPayload,
)
from centers.fulfillment.graphql.types import (
    Ctx,
    Dispatch,
    PickupPoint,
    Shipment,
)
from centers.fulfillment.jobs import JOB_HANDLERS
from kernel.errors import UserInputError
from kernel.graphql.fields import StoreOf, mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.subgraph import Subgraph
from kernel.graphql.types import UserError

MAX_CSV_BYTES = 1_000_000

# A shipment ships from one store (``shipment.store_id``): a role held there may act on it.
_SHIPMENT = StoreOf("id", repository.shipment_stores)
_INPUT_SHIPMENT = StoreOf("input.shipmentId", repository.shipment_stores)
# Merging checks every shipment named (they must share a store to merge anyway).
_INPUT_SHIPMENTS = StoreOf("input.shipmentIds", repository.shipment_stores)


@strawberry.input
class ShipmentLineInput:
    sku_id: strawberry.ID
    quantity: int
    order_id: strawberry.ID | None = strawberry.field(
        default=None, description="Default: the shipment's order."
    )


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
    lines: list[ShipmentLineInput] = strawberry.field(default_factory=list)
    pickup_point_id: strawberry.ID | None = strawberry.field(
        default=None, description="Deliver to this pickup point (自提点)."
    )


@strawberry.type
class ShipmentPayload:
    shipment: Shipment | None
    user_errors: list[UserError]


@strawberry.type
class CreateShipmentPayload:
    shipment: Shipment | None
    user_errors: list[UserError]


@strawberry.input
class SetShipmentStatusInput:
    shipment_id: strawberry.ID
    status: ShipmentStatus


@strawberry.input
class AssignCarrierInput:
    shipment_id: strawberry.ID
    carrier: str
    tracking_number: str | None = None
    mark_shipped: bool = strawberry.field(
        default=False, description="Also mark it SHIPPED (handed to the carrier)."
    )


@strawberry.input
class UpdateRiderInput:
    shipment_id: strawberry.ID
    status: RiderStatus
    rider_name: str | None = None
    rider_phone: str | None = None


@strawberry.input
class SplitPartInput:
    line_no: int
    quantity: int


@strawberry.input
class SplitShipmentInput:
    shipment_id: strawberry.ID
    lines: list[SplitPartInput] = strawberry.field(
        description="What moves to the new shipment: line numbers and quantities."
    )


@strawberry.type
class SplitShipmentPayload:
    shipment: Shipment | None
    new_shipment: Shipment | None
    user_errors: list[UserError]


@strawberry.input
class MergeShipmentsInput:
    shipment_ids: list[strawberry.ID] = strawberry.field(
        description="The first receives the others' lines."
    )


@strawberry.input
class TrackingEventInput:
    occurred_at: datetime
    description: str
    location: str | None = None


@strawberry.input
class RecordTrackingEventsInput:
    shipment_id: strawberry.ID
    events: list[TrackingEventInput]


@strawberry.type
class RecordTrackingEventsPayload:
    added: int = strawberry.field(description="Events not seen before.")
    shipment: Shipment | None
    user_errors: list[UserError]


@strawberry.input
class ImportTrackingNumbersInput:
    csv: str = strawberry.field(
        description="Header shipment_id or order_id, carrier, tracking_number; at most 1 MB."
    )


@strawberry.type
class RejectedTrackingRow:
    line: int
    column: str | None
    code: str
    message: str


@strawberry.type
class ImportTrackingNumbersPayload:
    rows: int
    applied: int
    rejected: list[RejectedTrackingRow]
    user_errors: list[UserError]


@strawberry.input
class CreatePickupPointInput:
    code: str
    name: str
    address: str
    latitude: float | None = None
    longitude: float | None = None
    store_id: strawberry.ID | None = None


@strawberry.type
class CreatePickupPointPayload:
    pickup_point: PickupPoint | None
    user_errors: list[UserError]


@strawberry.input
class DispatchLineInput:
    sku_id: strawberry.ID
    quantity: int


@strawberry.input
class DispatchOrderInput:
    order_id: strawberry.ID
    lines: list[DispatchLineInput]
    store_id: strawberry.ID | None = strawberry.field(
        default=None, description="O2O: the store ordered from, tried first."
    )
    pickup_point_id: strawberry.ID | None = None
    latitude: float | None = strawberry.field(default=None, description="Delivery address.")
    longitude: float | None = None


@strawberry.type
class DispatchOrderPayload:
    dispatch: Dispatch | None
    user_errors: list[UserError]


async def _shipment_payload(
    info: Ctx, run: Callable[[], Awaitable[ShipmentInfo]]
) -> ShipmentPayload:
    found, errors = await attempt(info.context, run)
    return ShipmentPayload(shipment=Shipment.of(found) if found else None, user_errors=errors)


def _micro(value: float | None) -> int | None:
    return round(value * 1e6) if value is not None else None


@strawberry.type
class Query:
    @query(policy.READ_SHIPMENT, store=_SHIPMENT)
    async def shipment(self, info: Ctx, id: strawberry.ID) -> Shipment | None:
        return await Shipment.resolve_reference(info, id)

    @query(policy.READ_SHIPMENT, description="The last dispatch plan of an order.")
    async def dispatch(self, info: Ctx, order_id: strawberry.ID) -> Dispatch | None:
        found = try_parse_id(order_id)
        plan = await loaders.dispatches(info.context).load(found) if found else None
        return Dispatch.of(service.from_json(found, plan)) if found and plan else None

    @query(policy.READ_PICKUP_POINT, description="Active pickup points, by id.")
    async def pickup_points(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[PickupPoint]:
        context = info.context
        page = page_request(first, after)
        rows = await repository.list_pickup_points(context.session, context.tenant_id, page)
        return connection(rows, page, PickupPoint.of, lambda p: [p.id])


@strawberry.type
class Mutation:
    @mutation(
        policy.MANAGE_SHIPMENT,
        description="Create a shipment (package) of an order from a store; without a carrier "
        "it is a pickup and gets a 4-digit pickup code (取餐码). Codes: INVALID_ID, "
        "INVALID_CARRIER, INVALID_TRACKING_NUMBER, INVALID_QUANTITY, TOO_MANY_LINES, "
        "PICKUP_POINT_NOT_FOUND.",
    )
    async def create_shipment(self, info: Ctx, input: CreateShipmentInput) -> CreateShipmentPayload:
        context = info.context

        async def run() -> ShipmentInfo:
            return await service.create_shipment(
                context.session,
                context.tenant_id,
                order_id=parse_id(input.order_id, ["input", "orderId"]),
                store_id=parse_id(input.store_id, ["input", "storeId"]),
                carrier=input.carrier,
                tracking_number=input.tracking_number,
                lines=[
                    NewShipmentLine(
                        sku_id=parse_id(x.sku_id, ["input", "lines", str(i), "skuId"]),
                        quantity=x.quantity,
                        order_id=(
                            parse_id(x.order_id, ["input", "lines", str(i), "orderId"])
                            if x.order_id
                            else None
                        ),
                    )
                    for i, x in enumerate(input.lines)
                ],
                pickup_point_id=(
                    parse_id(input.pickup_point_id, ["input", "pickupPointId"])
                    if input.pickup_point_id
                    else None
                ),
            )

        found, errors = await attempt(context, run)
        return CreateShipmentPayload(
            shipment=Shipment.of(found) if found else None, user_errors=errors
        )

    @mutation(
        policy.PROGRESS_SHIPMENT,
        store=_INPUT_SHIPMENT,
        description="Move a shipment on: PREPARING, READY (notifies the customer with the "
        "pickup code), SHIPPED, DELIVERED, PICKED_UP, CONFIRMED, CANCELLED. Codes: "
        "INVALID_ID, SHIPMENT_NOT_FOUND, INVALID_TRANSITION.",
    )
    async def set_shipment_status(
        self, info: Ctx, input: SetShipmentStatusInput
    ) -> ShipmentPayload:
        context = info.context
        return await _shipment_payload(
            info,
            lambda: service.set_status(
                context.session,
                context.tenant_id,
                shipment_id=parse_id(input.shipment_id, ["input", "shipmentId"]),
                status=input.status,
            ),
        )

    @mutation(
        policy.MANAGE_SHIPMENT,
        store=_INPUT_SHIPMENT,
        description="Set the carrier and tracking number (before it leaves). Codes: "
        "INVALID_ID, SHIPMENT_NOT_FOUND, INVALID_CARRIER, INVALID_TRACKING_NUMBER, "
        "INVALID_TRANSITION.",
    )
    async def assign_carrier(self, info: Ctx, input: AssignCarrierInput) -> ShipmentPayload:
        context = info.context
        return await _shipment_payload(
            info,
            lambda: service.assign_carrier(
                context.session,
                context.tenant_id,
                shipment_id=parse_id(input.shipment_id, ["input", "shipmentId"]),
                carrier=input.carrier,
                tracking_number=input.tracking_number,
                mark_shipped=input.mark_shipped,
            ),
        )

    @mutation(
        policy.PROGRESS_SHIPMENT,
        store=_INPUT_SHIPMENT,
        description="A rider's progress on a delivery (PICKED_UP ships it, DELIVERED delivers "
        "it). Codes: INVALID_ID, SHIPMENT_NOT_FOUND, INVALID_TRANSITION, INVALID_NAME, "
        "INVALID_PHONE.",
    )
    async def update_rider(self, info: Ctx, input: UpdateRiderInput) -> ShipmentPayload:
        context = info.context
        return await _shipment_payload(
            info,
            lambda: service.update_rider(
                context.session,
                context.tenant_id,
                shipment_id=parse_id(input.shipment_id, ["input", "shipmentId"]),
                status=input.status,
                rider_name=input.rider_name,
                rider_phone=input.rider_phone,
            ),
        )

    @mutation(
        policy.MANAGE_SHIPMENT,
        store=_INPUT_SHIPMENT,
        description="Move quantities of lines into a new shipment (拆包). Codes: INVALID_ID, "
        "SHIPMENT_NOT_FOUND, INVALID_SPLIT, INVALID_TRANSITION.",
    )
    async def split_shipment(self, info: Ctx, input: SplitShipmentInput) -> SplitShipmentPayload:
        context = info.context

        async def run() -> tuple[ShipmentInfo, ShipmentInfo]:
            return await service.split(
                context.session,
                context.tenant_id,
                shipment_id=parse_id(input.shipment_id, ["input", "shipmentId"]),
                take=[(x.line_no, x.quantity) for x in input.lines],
            )

        pair, errors = await attempt(context, run)
        return SplitShipmentPayload(
            shipment=Shipment.of(pair[0]) if pair else None,
            new_shipment=Shipment.of(pair[1]) if pair else None,
            user_errors=errors,
        )

    @mutation(
        policy.MANAGE_SHIPMENT,
        store=_INPUT_SHIPMENTS,
        description="Merge open shipments from one store to one destination into the first "
        "(合单). Codes: INVALID_ID, SHIPMENT_NOT_FOUND, INVALID_MERGE.",
    )
    async def merge_shipments(self, info: Ctx, input: MergeShipmentsInput) -> ShipmentPayload:
        context = info.context
        return await _shipment_payload(
            info,
            lambda: service.merge(
                context.session,
                context.tenant_id,
                shipment_ids=[
                    parse_id(x, ["input", "shipmentIds", str(i)])
                    for i, x in enumerate(input.shipment_ids)
                ],
            ),
        )

    @mutation(
        policy.MANAGE_SHIPMENT,
        store=_INPUT_SHIPMENT,
        description="Store a carrier's tracking events (repeats are kept once). Codes: "
        "INVALID_ID, SHIPMENT_NOT_FOUND, TOO_MANY_EVENTS, INVALID_TIME, INVALID_DESCRIPTION, "
        "INVALID_LOCATION.",
    )
    async def record_tracking_events(
        self, info: Ctx, input: RecordTrackingEventsInput
    ) -> RecordTrackingEventsPayload:
        context = info.context
        shipment_id = try_parse_id(input.shipment_id)

        async def run() -> int:
            return await service.record_events(
                context.session,
                context.tenant_id,
                shipment_id=parse_id(input.shipment_id, ["input", "shipmentId"]),
                events=[
                    TrackingEvent(e.occurred_at, e.description, e.location) for e in input.events
                ],
            )

        added, errors = await attempt(context, run)
        shipment = (
            await Shipment.resolve_reference(info, input.shipment_id)
            if shipment_id and not errors
            else None
        )
        return RecordTrackingEventsPayload(added=added or 0, shipment=shipment, user_errors=errors)

    @mutation(
        policy.MANAGE_SHIPMENT,
        store=_INPUT_SHIPMENT,
        description="Book a courier for a shipment with the tenant's carrier plugin "
        "(CarrierGateway): the shipment gets the carrier and tracking number. Booking it "
        "again returns the same booking. Codes: INVALID_ID, INVALID_NAME, INVALID_PHONE, "
        "INVALID_ADDRESS, INVALID_TIME, SHIPMENT_NOT_FOUND, INVALID_TRANSITION, "
        "CARRIER_NOT_CONFIGURED, CARRIER_AMBIGUOUS, CARRIER_UNAVAILABLE (retry).",
    )
    async def book_courier(self, info: Ctx, input: BookCourierInput) -> BookCourierPayload:
        context = info.context

        async def run() -> tuple[ShipmentInfo, CourierBookingValue]:
            return await service.book_courier(
                context.session,
                context.tenant_id,
                shipment_id=parse_id(input.shipment_id, ["input", "shipmentId"]),
                receiver=service.Receiver(
                    input.receiver_name, input.receiver_phone, input.receiver_address
                ),
                ready_at=input.ready_at,
                plugin=input.plugin,
            )

        pair, errors = await attempt(context, run)
        return BookCourierPayload(
            shipment=Shipment.of(pair[0]) if pair else None,
            booking=CourierBooking.of(pair[1]) if pair else None,
            user_errors=errors,
        )

    @mutation(
        policy.MANAGE_SHIPMENT,
        store=_INPUT_SHIPMENT,
        description="Fetch a booked shipment's tracking events from the tenant's carrier "
        "plugin and store those not stored yet. Codes: INVALID_ID, SHIPMENT_NOT_FOUND, "
        "NOT_BOOKED, CARRIER_NOT_CONFIGURED, CARRIER_AMBIGUOUS, CARRIER_UNAVAILABLE (retry).",
    )
    async def sync_shipment_tracking(
        self, info: Ctx, input: SyncShipmentTrackingInput
    ) -> SyncShipmentTrackingPayload:
        context = info.context

        async def run() -> service.TrackingSync:
            return await service.sync_tracking(
                context.session,
                context.tenant_id,
                shipment_id=parse_id(input.shipment_id, ["input", "shipmentId"]),
                plugin=input.plugin,
            )

        synced, errors = await attempt(context, run)
        return SyncShipmentTrackingPayload(
            fetched=synced.fetched if synced else 0,
            added=synced.added if synced else 0,
            shipment=Shipment.of(synced.shipment) if synced else None,
            user_errors=errors,
        )

    @mutation(
        policy.MANAGE_SHIPMENT,
        description="Import tracking numbers by CSV for channels without an API: each row "
        "gives a shipment (or an order with one open shipment) its carrier and number and "
        "marks it SHIPPED; bad rows are listed in rejected. Codes: CSV_TOO_LARGE, "
        "MISSING_COLUMN, MALFORMED_CSV.",
    )
    async def import_tracking_numbers(
        self, info: Ctx, input: ImportTrackingNumbersInput
    ) -> ImportTrackingNumbersPayload:
        context = info.context

        async def run() -> tuple[int, int, list[tuple[int, str | None, str, str]]]:
            if len(input.csv.encode()) > MAX_CSV_BYTES:
                raise UserInputError(
                    "send at most 1 MB", code="CSV_TOO_LARGE", field=["input", "csv"]
                )
            return await service.import_tracking_csv(context.session, context.tenant_id, input.csv)

        report, errors = await attempt(context, run)
        rows, applied, rejected = report or (0, 0, [])
        return ImportTrackingNumbersPayload(
            rows=rows,
            applied=applied,
            rejected=[
                RejectedTrackingRow(line=r[0], column=r[1], code=r[2], message=r[3])
                for r in rejected
            ],
            user_errors=errors,
        )

    @mutation(
        policy.MANAGE_PICKUP_POINT,
        description="Add a pickup point (自提点). Codes: INVALID_CODE, CODE_TAKEN, INVALID_NAME, "
        "INVALID_ADDRESS, INVALID_POSITION, INVALID_ID, STORE_NOT_FOUND.",
    )
    async def create_pickup_point(
        self, info: Ctx, input: CreatePickupPointInput
    ) -> CreatePickupPointPayload:
        context = info.context
        created, errors = await attempt(
            context,
            lambda: service.create_pickup_point(
                context.session,
                context.tenant_id,
                code=input.code,
                name=input.name,
                address=input.address,
                latitude=input.latitude,
                longitude=input.longitude,
                store_id=(
                    parse_id(input.store_id, ["input", "storeId"]) if input.store_id else None
                ),
            ),
        )
        return CreatePickupPointPayload(
            pickup_point=PickupPoint.of(created) if created else None, user_errors=errors
        )

    @mutation(
        policy.DISPATCH,
        description="Choose where each line ships from (派单): store first for O2O, then "
        "warehouse priority, distance and stock; the plan says why. Codes: INVALID_ID, "
        "NO_LINES, TOO_MANY_LINES, INVALID_QUANTITY, OUT_OF_STOCK, STORE_NOT_FOUND, "
        "PICKUP_POINT_NOT_FOUND, INVALID_POSITION.",
    )
    async def dispatch_order(self, info: Ctx, input: DispatchOrderInput) -> DispatchOrderPayload:
        context = info.context

        async def run() -> Dispatch:
            if (input.latitude is None) != (input.longitude is None) or (
                input.latitude is not None
                and input.longitude is not None
                and not (-90 <= input.latitude <= 90 and -180 <= input.longitude <= 180)
            ):
                raise UserInputError(
                    "give both latitude (±90) and longitude (±180), or neither",
                    code="INVALID_POSITION",
                    field=["input", "latitude"],
                )
            plan = await service.plan(
                context.session,
                context.tenant_id,
                order_id=parse_id(input.order_id, ["input", "orderId"]),
                lines=[
                    DispatchLine(
                        sku_id=parse_id(x.sku_id, ["input", "lines", str(i), "skuId"]),
                        quantity=x.quantity,
                    )
                    for i, x in enumerate(input.lines)
                ],
                destination=Destination(
                    latitude_e6=_micro(input.latitude),
                    longitude_e6=_micro(input.longitude),
                    pickup_point_id=(
                        parse_id(input.pickup_point_id, ["input", "pickupPointId"])
                        if input.pickup_point_id
                        else None
                    ),
                    store_id=(
                        parse_id(input.store_id, ["input", "storeId"]) if input.store_id else None
                    ),
                ),
            )
            return Dispatch.of(plan)

        found, errors = await attempt(context, run)
        return DispatchOrderPayload(dispatch=found, user_errors=errors)


subgraph = Subgraph(
    name="fulfillment",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation),
    # Referencing an Order, a Store or a Sku here reveals only shipments and dispatch.
    entity_permissions={
        "Shipment": policy.READ_SHIPMENT,
        "Order": policy.READ_SHIPMENT,
        "Store": policy.READ_SHIPMENT,
        "Sku": policy.READ_SHIPMENT,
    },
    grants=policy.GRANTS,
    store_permissions=policy.STORE_PERMISSIONS,
    # References answered only within the caller's stores (roles held at a store).
    store_narrowed_entities=frozenset({"Shipment", "Order"}),
    job_handlers=JOB_HANDLERS,
)
