"""The order subgraph's object types; enums are built from the state machines (data)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from graphql import GraphQLResolveInfo
from strawberry import Info

from centers.order import groups, loaders, policy
from centers.order.dto import (
    HistoryEntry,
    LineDiscountInfo,
    OrderInfo,
    OrderLineInfo,
    SubOrderInfo,
    order_line_id,
)
from centers.order.machine import MACHINES, Actor, machine_for
from centers.order.machine.definitions import ALL_EVENTS, ALL_STATES
from centers.order.repository import OrderReach
from kernel.authz.permissions import Permission
from kernel.context import RequestContext
from kernel.graphql.ids import try_parse_id
from kernel.graphql.prefetch import MaybeAwaitable, field_type, loaded, prefetch, prime, ready
from kernel.graphql.types import Money
from kernel.money import Money as MoneyValue

if TYPE_CHECKING:
    from centers.order.graphql.refunds import AfterSale

Ctx = Info[RequestContext, None]
RawInfo = GraphQLResolveInfo[RequestContext]


def _enum(name: str, values: list[str] | tuple[str, ...], description: str) -> Any:
    members = {value: value for value in sorted(set(values))}
    values_enum: Any = Enum(name, members)  # type: ignore[misc]
    return strawberry.enum(values_enum, description=description)


# Every state and event of every machine: a new order type extends these by itself.
OrderStatus = _enum("OrderStatus", ALL_STATES, "An order's internal state (see statusViews).")
OrderEventName = _enum("OrderEventName", ALL_EVENTS, "An event of an order state machine.")
OrderType = _enum("OrderType", list(MACHINES), "Which state machine an order follows.")
_views = [v for m in MACHINES.values() for v in m.views.values()]
BuyerOrderStatus = _enum(
    "BuyerOrderStatus", [v.buyer for v in _views], "The state as the buyer's app shows it."
)
MerchantOrderStatus = _enum(
    "MerchantOrderStatus", [v.merchant for v in _views], "The state as the store sees it."
)
ErpOrderStatus = _enum("ErpOrderStatus", [v.erp for v in _views], "The state as the ERP sees it.")


def visible_orders(context: RequestContext) -> OrderReach:
    """What the caller reads: every order (tenant-wide staff), any order of the stores
    where it holds ``read_any``, and its own orders if it reads those (customers)."""
    stores = context.stores(policy.READ_ANY_ORDER)
    if isinstance(stores, frozenset):
        own = context.principal.subject if context.allows(policy.READ_ORDER) else None
        return OrderReach(stores, own)
    return OrderReach(stores)


def actor_at(context: RequestContext, store_id: uuid.UUID | None) -> Actor:
    """Staff on an order of ``store_id`` (tenant-wide, or a role held at that store)."""
    return Actor.STAFF if context.allows_at(policy.MANAGE_ORDER, store_id) else Actor.BUYER


async def allowed_on_order(
    context: RequestContext, permission: Permission, order_id: uuid.UUID | None
) -> bool:
    """``permission`` on one order: tenant-wide, or at the order's store (looked up in
    one batch per request, so a list of after-sale requests costs one query)."""
    if context.allows(permission):
        return True
    if order_id is None:
        return False
    return context.allows_at(permission, await loaders.order_stores(context).load(order_id))


async def actor_on_order(context: RequestContext, order_id: uuid.UUID | None) -> Actor:
    staff = await allowed_on_order(context, policy.MANAGE_ORDER, order_id)
    return Actor.STAFF if staff else Actor.BUYER


# Prefetches (kernel.graphql.prefetch): a page's root loads a whole level at once,
# through the loaders the resolvers read, which then answer synchronously.


async def _prefetch_lines(
    info: RawInfo, parents: Sequence[Order | SubOrder], _arguments: Mapping[str, Any]
) -> list[OrderLine]:
    context = info.context
    await prime(loaders.lines(context), [p.order_id for p in parents])
    return [
        line
        for p in parents
        if isinstance(found := ready(p._lines(context)), list)
        for line in found
    ]


async def _prefetch_sub_orders(
    info: RawInfo, orders: Sequence[Order], _arguments: Mapping[str, Any]
) -> list[SubOrder]:
    context = info.context
    await prime(loaders.sub_orders(context), [o.order_id for o in orders])
    return [
        sub
        for o in orders
        if isinstance(found := ready(o._sub_orders(context)), list)
        for sub in found
    ]


async def _prefetch_history(
    info: RawInfo, orders: Sequence[Order], _arguments: Mapping[str, Any]
) -> list[Any]:
    await prime(loaders.history(info.context), [o.order_id for o in orders])
    return []


async def _prefetch_discounts(
    info: RawInfo, lines: Sequence[OrderLine], _arguments: Mapping[str, Any]
) -> list[Any]:
    await prime(loaders.discounts(info.context), [line.order_id for line in lines])
    return []


@strawberry.federation.type(keys=["id"])
class Store:
    id: strawberry.ID


@strawberry.federation.type(keys=["id"])
class Sku:
    id: strawberry.ID


@strawberry.type(description="One discount on one line, by source (金额分摊).")
class LineDiscount:
    source: str = strawberry.field(description="PROMOTION, COUPON, MEMBER or POINTS.")
    source_id: strawberry.ID | None = strawberry.field(
        description="The activity, coupon or member level; null for points."
    )
    label: str
    amount: Money

    @classmethod
    def of(cls, value: LineDiscountInfo) -> LineDiscount:
        return cls(
            source=value.source,
            source_id=strawberry.ID(str(value.source_id)) if value.source_id else None,
            label=value.label,
            amount=Money.of(value.amount),
        )


def _money(value: MoneyValue | None, currency: str) -> Money:
    return Money.of(value if value is not None else MoneyValue(0, currency))


def _line_id(root: OrderLine) -> strawberry.ID:
    # Derived (a hash) only when asked: most pages never select it.
    return strawberry.ID(str(order_line_id(root.order_id, root.line_no)))


@strawberry.type(description="A line of an order with the SKU as it was sold (snapshot).")
class OrderLine:
    id: strawberry.ID = strawberry.field(
        resolver=_line_id, description="Stable id of the line (refunds name it)."
    )
    line_no: int
    sub_order_no: int = strawberry.field(description="The sub-order the line belongs to.")
    order_id: strawberry.Private[uuid.UUID]
    sku_id: strawberry.Private[uuid.UUID]
    sku_code: str
    sku_name: str
    unit_price: Money
    quantity: int
    amount: Money = strawberry.field(description="List amount: unitPrice × quantity.")
    discount: Money = strawberry.field(description="Sum of this line's discounts.")
    payable: Money = strawberry.field(description="amount − discount.")
    refunded: Money

    @classmethod
    def of(cls, order_id: uuid.UUID, value: OrderLineInfo) -> OrderLine:
        currency = value.amount.currency
        return cls(
            line_no=value.line_no,
            sub_order_no=value.sub_no,
            order_id=order_id,
            sku_id=value.sku_id,
            sku_code=value.sku_code,
            sku_name=value.sku_name,
            unit_price=Money.of(value.unit_price),
            quantity=value.quantity,
            amount=Money.of(value.amount),
            discount=_money(value.discount, currency),
            payable=_money(value.payable, currency),
            refunded=_money(value.refunded, currency),
        )

    @strawberry.field(description="The SKU today (its current name and price may differ).")
    def sku(self) -> Sku:
        return Sku(id=strawberry.ID(str(self.sku_id)))

    @strawberry.field(
        graphql_type=field_type("list[LineDiscount]", globals()),
        description="Discounts allocated to this line, by source.",
        metadata=prefetch(_prefetch_discounts),
    )
    def discounts(self, info: Ctx) -> MaybeAwaitable[list[LineDiscount]]:
        line_no = self.line_no
        return loaded(
            self,
            "discounts",
            loaders.discounts(info.context),
            self.order_id,
            lambda found: [LineDiscount.of(d) for d in found if d.line_no == line_no],
        )


@strawberry.type(description="A sub-order (子订单): the lines one store or warehouse fulfils.")
class SubOrder:
    sub_order_no: int
    split_key: str = strawberry.field(description="What the split rule grouped by.")
    order_id: strawberry.Private[uuid.UUID]
    store_id: strawberry.Private[uuid.UUID]
    list_amount: Money
    discount: Money
    delivery_fee: Money
    payable: Money = strawberry.field(description="listAmount − discount + deliveryFee.")
    refunded: Money

    @classmethod
    def of(cls, value: SubOrderInfo) -> SubOrder:
        return cls(
            sub_order_no=value.sub_no,
            split_key=value.split_key,
            order_id=value.order_id,
            store_id=value.store_id,
            list_amount=Money.of(value.list_amount),
            discount=Money.of(value.discount_amount),
            delivery_fee=Money.of(value.delivery_fee),
            payable=Money.of(value.payable_amount),
            refunded=Money.of(value.refunded_amount),
        )

    @strawberry.field
    def store(self) -> Store:
        return Store(id=strawberry.ID(str(self.store_id)))

    @strawberry.field(
        graphql_type=field_type("list[OrderLine]", globals()), metadata=prefetch(_prefetch_lines)
    )
    def lines(self, info: Ctx) -> MaybeAwaitable[list[OrderLine]]:
        return self._lines(info.context)

    def _lines(self, context: RequestContext) -> MaybeAwaitable[list[OrderLine]]:
        order_id, sub_no = self.order_id, self.sub_order_no
        return loaded(
            self,
            "lines",
            loaders.lines(context),
            order_id,
            lambda found: [OrderLine.of(order_id, ln) for ln in found if ln.sub_no == sub_no],
        )


@strawberry.type(description="One transition in an order's history.")
class OrderHistoryEntry:
    at: datetime
    actor: str
    event: str
    from_status: str | None
    to_status: str
    reason: str

    @classmethod
    def of(cls, value: HistoryEntry) -> OrderHistoryEntry:
        return cls(
            at=value.at,
            actor=value.actor,
            event=value.event,
            from_status=value.from_status,
            to_status=value.to_status,
            reason=value.reason,
        )


@strawberry.type(description="The order's state as each audience reads it.")
class OrderStatusViews:
    buyer: str = strawberry.field(graphql_type=BuyerOrderStatus)
    merchant: str = strawberry.field(graphql_type=MerchantOrderStatus)
    erp: str = strawberry.field(graphql_type=ErpOrderStatus)


@strawberry.type(description="A group buy (拼团) group: size paid orders in time complete it.")
class GroupBuy:
    id: strawberry.ID = strawberry.field(description="Share it: others join with it.")
    activity_id: strawberry.ID
    size: int
    paid: int = strawberry.field(description="Member orders paid so far.")
    members: int = strawberry.field(description="Member orders not cancelled.")
    status: str = strawberry.field(description="OPEN, COMPLETED or FAILED.")
    expires_at: datetime

    @classmethod
    def of(cls, value: groups.GroupInfo) -> GroupBuy:
        return cls(
            id=strawberry.ID(str(value.id)),
            activity_id=strawberry.ID(str(value.activity_id)),
            size=value.size,
            paid=value.paid,
            members=value.members,
            status=value.status,
            expires_at=value.expires_at,
        )


@strawberry.federation.type(keys=["id"], description="A trade order (交易单).")
class Order:
    id: strawberry.ID
    number: str = strawberry.field(description="Unique per brand, readable, not guessable.")
    type: str = strawberry.field(graphql_type=OrderType)
    channel: str
    status: str = strawberry.field(graphql_type=OrderStatus)
    total: Money = strawberry.field(description="What the buyer pays (same as payable).")
    list_amount: Money
    discount: Money = strawberry.field(description="All discounts, every source.")
    delivery_fee: Money
    payable: Money = strawberry.field(description="listAmount − discount + deliveryFee.")
    deposit: Money = strawberry.field(description="Presale deposit (定金); zero otherwise.")
    paid: Money
    refunded: Money
    pickup_code: str | None = strawberry.field(
        description="取餐码 (restaurant, once ready) or voucher code (virtual, once paid)."
    )
    placed_at: datetime
    status_changed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    store_id: strawberry.Private[uuid.UUID]
    buyer_subject: strawberry.Private[str]
    order_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, value: OrderInfo) -> Order:
        def money(amount: int) -> Money:
            return Money(amount=amount, currency=value.currency)

        return cls(
            id=strawberry.ID(str(value.id)),
            number=value.number,
            type=value.order_type,
            channel=value.channel,
            status=value.status,
            total=Money.of(value.total),
            list_amount=money(value.list_amount),
            discount=money(value.discount_amount),
            delivery_fee=money(value.delivery_fee),
            payable=Money.of(value.total),
            deposit=money(value.deposit_amount),
            paid=money(value.paid_amount),
            refunded=money(value.refunded_amount),
            pickup_code=value.pickup_code,
            placed_at=value.placed_at,
            status_changed_at=value.status_changed_at,
            cancelled_at=value.cancelled_at,
            cancel_reason=value.cancel_reason,
            store_id=value.store_id,
            buyer_subject=value.buyer_subject,
            order_id=value.id,
        )

    @strawberry.field(description="The buyer, merchant and ERP readings of the status.")
    def status_views(self) -> OrderStatusViews:
        view = machine_for(self.type).views[self.status]
        return OrderStatusViews(buyer=view.buyer, merchant=view.merchant, erp=view.erp)

    @strawberry.field(
        graphql_type=list[OrderEventName],  # type: ignore[valid-type]
        description="Events the caller may fire now (for showing the right buttons).",
    )
    def available_events(self, info: Ctx) -> list[str]:
        return machine_for(self.type).events_for(self.status, actor_at(info.context, self.store_id))

    @strawberry.field
    def store(self) -> Store:
        return Store(id=strawberry.ID(str(self.store_id)))

    @strawberry.field(
        graphql_type=field_type("list[OrderLine]", globals()), metadata=prefetch(_prefetch_lines)
    )
    def lines(self, info: Ctx) -> MaybeAwaitable[list[OrderLine]]:
        return self._lines(info.context)

    def _lines(self, context: RequestContext) -> MaybeAwaitable[list[OrderLine]]:
        order_id = self.order_id
        return loaded(
            self,
            "lines",
            loaders.lines(context),
            order_id,
            lambda found: [OrderLine.of(order_id, line) for line in found],
        )

    @strawberry.field(
        graphql_type=field_type("list[SubOrder]", globals()),
        description="Sub-orders (子订单) by the tenant's split rule.",
        metadata=prefetch(_prefetch_sub_orders),
    )
    def sub_orders(self, info: Ctx) -> MaybeAwaitable[list[SubOrder]]:
        return self._sub_orders(info.context)

    def _sub_orders(self, context: RequestContext) -> MaybeAwaitable[list[SubOrder]]:
        return loaded(
            self,
            "sub_orders",
            loaders.sub_orders(context),
            self.order_id,
            lambda found: [SubOrder.of(s) for s in found],
        )

    @strawberry.field(description="After-sale requests (售后单) on this order, newest first.")
    async def after_sales(
        self, info: Ctx
    ) -> list[Annotated[AfterSale, strawberry.lazy("centers.order.graphql.refunds")]]:
        from centers.order.graphql.refunds import order_refunds

        return await order_refunds(info.context, uuid.UUID(self.id))

    @strawberry.field(description="The group buy (拼团) this order opened or joined; null if none.")
    async def group_buy(self, info: Ctx) -> GroupBuy | None:
        found = await groups.group_of_order(
            info.context.session, info.context.tenant_id, uuid.UUID(self.id)
        )
        return GroupBuy.of(found) if found is not None else None

    @strawberry.field(
        graphql_type=field_type("list[OrderHistoryEntry]", globals()),
        description="Every transition: time, actor, event, from, to, reason.",
        metadata=prefetch(_prefetch_history),
    )
    def history(self, info: Ctx) -> MaybeAwaitable[list[OrderHistoryEntry]]:
        return loaded(
            self,
            "history",
            loaders.history(info.context),
            self.order_id,
            lambda found: [OrderHistoryEntry.of(h) for h in found],
        )

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Order | None:
        order_id = try_parse_id(id)
        if order_id is None:
            return None
        context = info.context
        found = await loaders.orders(context, visible_orders(context)).load(order_id)
        return cls.of(found) if found else None
