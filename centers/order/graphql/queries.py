"""Reading orders: by id, by number, and the filtered ``orders`` connection."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from centers.order import policy, repository
from centers.order.dto import OrderSettings
from centers.order.graphql.placement import OrderPreview, PreviewOrderInput, preview
from centers.order.graphql.refunds import AfterSale, AfterSaleStatus, refund_queue
from centers.order.graphql.types import (
    Ctx,
    Order,
    OrderStatus,
    OrderType,
    visible_orders,
)
from kernel.graphql.fields import NARROWED, StoreArg, query
from kernel.graphql.ids import parse_id
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.prefetch import prefetch_page


@strawberry.type(description="The tenant's order rules.")
class OrderSettingsType:
    payment_timeout_seconds: int = strawberry.field(
        description="Unpaid orders are cancelled after this long (default 900 = 15 min)."
    )
    after_sale_days: int = strawberry.field(
        description="Days after receipt before an order completes (returns window)."
    )
    delivery_fee: int = strawberry.field(description="Per shipped sub-order, minor units.")
    free_delivery_from: int | None
    presale_deposit_percent: int
    presale_balance_hours: int
    review_orders_per_hour: int | None
    review_discount_percent: int | None

    @classmethod
    def of(cls, value: OrderSettings) -> OrderSettingsType:
        return cls(
            payment_timeout_seconds=value.payment_timeout_seconds,
            after_sale_days=value.after_sale_days,
            delivery_fee=value.delivery_fee,
            free_delivery_from=value.free_delivery_from,
            presale_deposit_percent=value.presale_deposit_percent,
            presale_balance_hours=value.presale_balance_hours,
            review_orders_per_hour=value.review_orders_per_hour,
            review_discount_percent=value.review_discount_percent,
        )


def _value(item: object) -> str:
    return str(item.value) if isinstance(item, Enum) else str(item)


@strawberry.type
class Query:
    @query(
        policy.READ_ORDER,
        store=NARROWED,
        description="An order the caller may see, or null (also an order of a store "
        "where the caller holds no role).",
    )
    async def order(self, info: Ctx, id: strawberry.ID) -> Order | None:
        found = await Order.resolve_reference(info, id)
        if found is not None:
            await prefetch_page(info, [found], through=())
        return found

    @query(
        policy.READ_ORDER, store=NARROWED, description="An order by its receipt number, or null."
    )
    async def order_by_number(self, info: Ctx, number: str) -> Order | None:
        context = info.context
        found = await repository.order_by_number(
            context.session, context.tenant_id, number, visible_orders(context)
        )
        if found is None:
            return None
        order = Order.of(found)
        await prefetch_page(info, [order], through=())
        return order

    @query(
        policy.READ_ORDER,
        store=NARROWED,
        description="Orders, newest first. A customer sees only their own orders and staff "
        "holding a role at some stores only those stores' orders, whatever the filters; "
        "`buyer` filters staff's view to one buyer (subject, e.g. user:42).",
    )
    async def orders(
        self,
        info: Ctx,
        first: int = 20,
        after: str | None = None,
        store_id: strawberry.ID | None = None,
        status: list[OrderStatus] | None = None,
        type: OrderType | None = None,
        channel: str | None = None,
        buyer: str | None = None,
        placed_from: datetime | None = None,
        placed_before: datetime | None = None,
    ) -> Connection[Order]:
        context = info.context
        page = page_request(first, after)
        reach = visible_orders(context)
        rows = await repository.list_orders(
            context.session,
            context.tenant_id,
            page,
            repository.OrderFilter(
                # A customer's own orders are their whole view; `buyer` is staff's filter.
                buyer=buyer if reach.stores else None,
                reach=reach,
                store_id=parse_id(store_id, ["storeId"]) if store_id is not None else None,
                statuses=tuple(_value(s) for s in status or ()),
                order_type=_value(type) if type is not None else None,
                channel=channel,
                placed_from=placed_from,
                placed_before=placed_before,
            ),
        )
        found = connection(rows, page, Order.of, lambda o: [o.id])
        await prefetch_page(info, [edge.node for edge in found.edges])
        return found

    @query(
        policy.PLACE_ORDER,
        store=StoreArg("input.storeId"),
        description="Price a cart exactly as placeOrder would charge it, writing nothing. "
        "Errors carry the placeOrder and pricing codes in extensions.code.",
    )
    async def preview_order(self, info: Ctx, input: PreviewOrderInput) -> OrderPreview:
        return await preview(info.context, input)

    @query(
        policy.READ_ORDER,
        store=NARROWED,
        description="After-sale requests, newest first (staff: the merchant's queue, of "
        "the stores where they hold a role; a customer: their own).",
    )
    async def after_sales(
        self,
        info: Ctx,
        first: int = 20,
        after: str | None = None,
        status: list[AfterSaleStatus] | None = None,
    ) -> Connection[AfterSale]:
        return await refund_queue(info.context, first, after, status)

    @query(policy.READ_ANY_ORDER, description="The tenant's order rules.")
    async def order_settings(self, info: Ctx) -> OrderSettingsType:
        context = info.context
        return OrderSettingsType.of(
            await repository.get_settings(context.session, context.tenant_id)
        )
