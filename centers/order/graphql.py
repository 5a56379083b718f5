"""The order subgraph: trade orders, ``placeOrder`` and ``cancelOrder``.

A caller with ``order.order:read_any`` sees every order of the tenant; anyone else
sees only orders they placed, enforced as an SQL filter on the buyer.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry
from strawberry import Info

from centers.order import loaders, policy, repository, service
from centers.order.dto import LineRequest, OrderInfo, OrderLineInfo
from kernel.context import RequestContext
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.subgraph import Subgraph
from kernel.graphql.types import Money, UserError

Ctx = Info[RequestContext, None]


def visible_buyer(context: RequestContext) -> str | None:
    """``None`` when the caller may see every order, else the only buyer they may see."""
    return None if context.allows(policy.READ_ANY_ORDER) else context.principal.subject


@strawberry.enum(description="Where an order stands.")
class OrderStatus(Enum):
    PLACED = "PLACED"
    CANCELLED = "CANCELLED"


@strawberry.federation.type(keys=["id"])
class Store:
    id: strawberry.ID


@strawberry.federation.type(keys=["id"])
class Sku:
    id: strawberry.ID


@strawberry.type(description="A line of an order with the SKU as it was sold (snapshot).")
class OrderLine:
    line_no: int
    sku_id: strawberry.Private[uuid.UUID]
    sku_code: str
    sku_name: str
    unit_price: Money
    quantity: int
    amount: Money = strawberry.field(description="unitPrice × quantity.")

    @classmethod
    def of(cls, value: OrderLineInfo) -> OrderLine:
        return cls(
            line_no=value.line_no,
            sku_id=value.sku_id,
            sku_code=value.sku_code,
            sku_name=value.sku_name,
            unit_price=Money.of(value.unit_price),
            quantity=value.quantity,
            amount=Money.of(value.amount),
        )

    @strawberry.field(description="The SKU today (its current name and price may differ).")
    def sku(self) -> Sku:
        return Sku(id=strawberry.ID(str(self.sku_id)))


@strawberry.federation.type(keys=["id"], description="A trade order (交易单).")
class Order:
    id: strawberry.ID
    number: str = strawberry.field(description="Unique per brand, readable, not guessable.")
    status: OrderStatus
    total: Money
    placed_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None
    store_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, value: OrderInfo) -> Order:
        return cls(
            id=strawberry.ID(str(value.id)),
            number=value.number,
            status=OrderStatus(value.status),
            total=Money.of(value.total),
            placed_at=value.placed_at,
            cancelled_at=value.cancelled_at,
            cancel_reason=value.cancel_reason,
            store_id=value.store_id,
        )

    @strawberry.field
    def store(self) -> Store:
        return Store(id=strawberry.ID(str(self.store_id)))

    @strawberry.field
    async def lines(self, info: Ctx) -> list[OrderLine]:
        found = await loaders.lines(info.context).load(uuid.UUID(self.id))
        return [OrderLine.of(line) for line in found]

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Order | None:
        order_id = try_parse_id(id)
        if order_id is None:
            return None
        context = info.context
        found = await loaders.orders(context, visible_buyer(context)).load(order_id)
        return cls.of(found) if found else None


@strawberry.input
class OrderLineInput:
    sku_id: strawberry.ID
    quantity: int


@strawberry.input
class PlaceOrderInput:
    idempotency_key: str = strawberry.field(
        description="Unique per attempt to buy; a replay returns the first result."
    )
    store_id: strawberry.ID
    lines: list[OrderLineInput]


@strawberry.type
class PlaceOrderPayload:
    order: Order | None
    replayed: bool = strawberry.field(
        description="True when this idempotencyKey had already placed the order."
    )
    user_errors: list[UserError]


@strawberry.input
class CancelOrderInput:
    order_id: strawberry.ID
    reason: str = ""


@strawberry.type
class CancelOrderPayload:
    order: Order | None
    user_errors: list[UserError]


@strawberry.type
class Query:
    @query(policy.READ_ORDER)
    async def order(self, info: Ctx, id: strawberry.ID) -> Order | None:
        return await Order.resolve_reference(info, id)

    @query(policy.READ_ORDER)
    async def order_by_number(self, info: Ctx, number: str) -> Order | None:
        context = info.context
        found = await repository.order_by_number(
            context.session, context.tenant_id, number, visible_buyer(context)
        )
        return Order.of(found) if found else None

    @query(policy.READ_ORDER, description="Orders, newest first.")
    async def orders(
        self,
        info: Ctx,
        first: int = 20,
        after: str | None = None,
        store_id: strawberry.ID | None = None,
        status: OrderStatus | None = None,
    ) -> Connection[Order]:
        context = info.context
        page = page_request(first, after)
        store = parse_id(store_id, ["storeId"]) if store_id is not None else None
        rows = await repository.list_orders(
            context.session,
            context.tenant_id,
            page,
            repository.OrderFilter(
                buyer=visible_buyer(context),
                store_id=store,
                statuses=(status.value,) if status else (),
            ),
        )
        return connection(rows, page, Order.of, lambda o: [o.id])


@strawberry.type
class Mutation:
    @mutation(
        policy.PLACE_ORDER,
        description="Price the lines, reserve stock and create the order in one transaction. "
        "Codes: NO_LINES, TOO_MANY_LINES, INVALID_QUANTITY, INVALID_ID, STORE_NOT_FOUND, "
        "SKU_NOT_FOUND, OUT_OF_STOCK, MIXED_CURRENCIES, INVALID_IDEMPOTENCY_KEY, "
        "IDEMPOTENCY_KEY_REUSED.",
    )
    async def place_order(self, info: Ctx, input: PlaceOrderInput) -> PlaceOrderPayload:
        context = info.context

        async def run() -> tuple[OrderInfo, bool]:
            lines = [
                LineRequest(
                    sku_id=parse_id(line.sku_id, ["input", "lines", str(i), "skuId"]),
                    quantity=line.quantity,
                )
                for i, line in enumerate(input.lines)
            ]
            return await service.place_order(
                context.session,
                context.tenant_id,
                service.Placement(
                    buyer=context.principal.subject,
                    idempotency_key=input.idempotency_key,
                    store_id=parse_id(input.store_id, ["input", "storeId"]),
                    lines=lines,
                ),
            )

        placed, errors = await attempt(context, run)
        return PlaceOrderPayload(
            order=Order.of(placed[0]) if placed else None,
            replayed=placed[1] if placed else False,
            user_errors=errors,
        )

    @mutation(
        policy.CANCEL_ORDER,
        description="Cancel a placed order and release its stock. "
        "Codes: INVALID_ID, ORDER_NOT_FOUND, INVALID_TRANSITION, INVALID_REASON.",
    )
    async def cancel_order(self, info: Ctx, input: CancelOrderInput) -> CancelOrderPayload:
        context = info.context

        async def run() -> OrderInfo:
            return await service.cancel_order(
                context.session,
                context.tenant_id,
                parse_id(input.order_id, ["input", "orderId"]),
                actor=context.principal.subject,
                own_only=not context.allows(policy.CANCEL_ANY_ORDER),
                reason=input.reason,
            )

        cancelled, errors = await attempt(context, run)
        return CancelOrderPayload(
            order=Order.of(cancelled) if cancelled else None, user_errors=errors
        )


subgraph = Subgraph(
    name="order",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation),
    entity_permissions={
        "Order": policy.READ_ORDER,
        "Store": policy.READ_ORDER,
        "Sku": policy.READ_ORDER,
    },
    grants=policy.GRANTS,
)
