"""Placing orders, and moving them through their state machine.

``transitionOrder`` fires any event of the order's machine; ``acceptOrder``,
``markOrderReady`` and ``confirmOrderReceipt`` are the same thing named for the POS,
the kitchen display and the buyer's app (docs/decisions/0010-order-transitions-api.md).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry

from centers.order import policy, repository, service, transitions
from centers.order.dto import OrderInfo, OrderSettings, TransitionResult
from centers.order.graphql import refunds as refund_api
from centers.order.graphql.placement import GroupBuyInput, OrderLineInput, placement_of
from centers.order.graphql.queries import OrderSettingsType
from centers.order.graphql.refunds import (
    RequestAfterSaleInput,
    RequestAfterSalePayload,
    TransitionAfterSaleInput,
    TransitionAfterSalePayload,
)
from centers.order.graphql.types import (
    Ctx,
    Order,
    OrderEventName,
    OrderType,
    actor_on_order,
    allowed_on_order,
)
from centers.order.machine import Actor
from kernel.context import RequestContext
from kernel.errors import UserInputError
from kernel.graphql.fields import StoreArg, StoreOf, mutation
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.types import UserError

# A role held at a store acts on that store's orders and their after-sale requests.
ON_ORDER = StoreOf("input.orderId", repository.stores_of_orders)
ON_REFUND = StoreOf("input.refundId", repository.stores_of_refunds)

TRANSITION_CODES = (
    "Codes: INVALID_ID, ORDER_NOT_FOUND, UNKNOWN_EVENT, INVALID_TRANSITION, INVALID_REASON, "
    "INVALID_IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_REUSED, AFTER_SALE_WINDOW_OPEN. "
    "An event the caller may not fire is a FORBIDDEN error."
)


@strawberry.input
class PlaceOrderInput:
    idempotency_key: str = strawberry.field(
        description="Unique per attempt to buy; a replay returns the first result."
    )
    store_id: strawberry.ID
    lines: list[OrderLineInput]
    type: OrderType | None = strawberry.field(default=None, description="Default STANDARD.")
    channel: str = strawberry.field(
        default="POS", description="Sales channel code, e.g. POS, MINI_PROGRAM, APP."
    )
    member_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Staff: the member scanned at the till. Customers: omit (their own "
        "membership is used) or give their own.",
    )
    coupon_codes: list[str] = strawberry.field(default_factory=list)
    points_to_redeem: int = 0
    group_buy: GroupBuyInput | None = strawberry.field(
        default=None,
        description="Open or join a group of a GROUP_BUY activity (拼团), STANDARD orders only.",
    )


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


@strawberry.input
class TransitionOrderInput:
    order_id: strawberry.ID
    event: OrderEventName
    reason: str = ""
    idempotency_key: str | None = strawberry.field(
        default=None, description="Per order: a replay returns the order, replayed: true."
    )


@strawberry.type
class TransitionOrderPayload:
    order: Order | None
    replayed: bool
    user_errors: list[UserError]


@strawberry.input
class OrderActionInput:
    order_id: strawberry.ID
    reason: str = ""
    idempotency_key: str | None = None


@strawberry.input
class UpdateOrderSettingsInput:
    payment_timeout_seconds: int
    after_sale_days: int
    delivery_fee: int = 0
    free_delivery_from: int | None = None
    presale_deposit_percent: int = strawberry.field(
        default=20, description="Presale deposit (定金), percent of the payable: 1 to 99."
    )
    presale_balance_hours: int = strawberry.field(
        default=72,
        description="Hours the presale balance may be paid once it opens (1 to 720); "
        "unpaid then, the order is cancelled and the deposit kept.",
    )
    review_orders_per_hour: int | None = strawberry.field(
        default=None, description="Orders per buyer per hour above which orders go to review."
    )
    review_discount_percent: int | None = strawberry.field(
        default=None, description="Discount share of the list amount above which: review."
    )


@strawberry.type
class UpdateOrderSettingsPayload:
    settings: OrderSettingsType | None
    user_errors: list[UserError]


def _value(item: Any) -> str:
    return str(item.value) if isinstance(item, Enum) else str(item)


async def _transition(
    context: RequestContext, order_id: strawberry.ID, event: str, reason: str, key: str | None
) -> TransitionOrderPayload:
    kind = await actor_on_order(context, try_parse_id(order_id))

    async def run() -> TransitionResult:
        return await transitions.apply_event(
            context.session,
            context.tenant_id,
            parse_id(order_id, ["input", "orderId"]),
            event,
            actor=context.principal.subject,
            actor_kind=kind,
            reason=reason,
            idempotency_key=key,
            buyer=context.principal.subject if kind is Actor.BUYER else None,
        )

    result, errors = await attempt(context, run)
    return TransitionOrderPayload(
        order=Order.of(result.order) if result else None,
        replayed=result.replayed if result else False,
        user_errors=errors,
    )


def _check_settings(input: UpdateOrderSettingsInput) -> OrderSettings:
    rules = (
        ("paymentTimeoutSeconds", 60 <= input.payment_timeout_seconds <= 7 * 86_400),
        ("afterSaleDays", 0 <= input.after_sale_days <= 365),
        ("deliveryFee", 0 <= input.delivery_fee <= 1_000_000),
        ("freeDeliveryFrom", input.free_delivery_from is None or input.free_delivery_from >= 0),
        ("presaleDepositPercent", 1 <= input.presale_deposit_percent <= 99),
        ("presaleBalanceHours", 1 <= input.presale_balance_hours <= 720),
        ("reviewOrdersPerHour", (input.review_orders_per_hour or 1) >= 1),
        ("reviewDiscountPercent", 0 <= (input.review_discount_percent or 0) <= 100),
    )
    for name, ok in rules:
        if not ok:
            raise UserInputError(
                f"{name} is out of range", code="INVALID_SETTING", field=["input", name]
            )
    return OrderSettings(
        payment_timeout_seconds=input.payment_timeout_seconds,
        after_sale_days=input.after_sale_days,
        delivery_fee=input.delivery_fee,
        free_delivery_from=input.free_delivery_from,
        presale_deposit_percent=input.presale_deposit_percent,
        presale_balance_hours=input.presale_balance_hours,
        review_orders_per_hour=input.review_orders_per_hour,
        review_discount_percent=input.review_discount_percent,
    )


@strawberry.type
class Mutation:
    @mutation(
        policy.PLACE_ORDER,
        store=StoreArg("input.storeId"),
        description="Price the lines, split them into sub-orders, reserve stock and create "
        "the order in one transaction; unpaid orders time out. Codes: NO_LINES, "
        "TOO_MANY_LINES, INVALID_QUANTITY, INVALID_ID, STORE_NOT_FOUND, SKU_NOT_FOUND, "
        "OUT_OF_STOCK, MIXED_CURRENCIES, UNKNOWN_ORDER_TYPE, INVALID_CHANNEL, "
        "INVALID_IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_REUSED.",
    )
    async def place_order(self, info: Ctx, input: PlaceOrderInput) -> PlaceOrderPayload:
        context = info.context

        async def run() -> tuple[OrderInfo, bool]:
            return await service.place_order(
                context.session,
                context.tenant_id,
                await placement_of(context, input, input.idempotency_key),
            )

        placed, errors = await attempt(context, run)
        return PlaceOrderPayload(
            order=Order.of(placed[0]) if placed else None,
            replayed=placed[1] if placed else False,
            user_errors=errors,
        )

    @mutation(
        policy.CANCEL_ORDER,
        store=ON_ORDER,
        description="Cancel an unpaid order and release its stock (the CANCEL event). "
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
                own_only=not await allowed_on_order(
                    context, policy.CANCEL_ANY_ORDER, try_parse_id(input.order_id)
                ),
                reason=input.reason,
            )

        cancelled, errors = await attempt(context, run)
        return CancelOrderPayload(
            order=Order.of(cancelled) if cancelled else None, user_errors=errors
        )

    @mutation(
        policy.READ_ORDER,
        store=ON_ORDER,
        description="Fire an event of the order's state machine. Staff (order.order:manage) "
        "fire store events on any order; others only buyer events on their own orders. "
        + TRANSITION_CODES,
    )
    async def transition_order(
        self, info: Ctx, input: TransitionOrderInput
    ) -> TransitionOrderPayload:
        return await _transition(
            info.context, input.order_id, _value(input.event), input.reason, input.idempotency_key
        )

    @mutation(
        policy.MANAGE_ORDER,
        store=ON_ORDER,
        description="The store accepts the order (ACCEPT). " + TRANSITION_CODES,
    )
    async def accept_order(self, info: Ctx, input: OrderActionInput) -> TransitionOrderPayload:
        return await _transition(
            info.context, input.order_id, "ACCEPT", input.reason, input.idempotency_key
        )

    @mutation(
        policy.MANAGE_ORDER,
        store=ON_ORDER,
        description="The kitchen marks the order ready; issues the pickup code (MARK_READY). "
        + TRANSITION_CODES,
    )
    async def mark_order_ready(self, info: Ctx, input: OrderActionInput) -> TransitionOrderPayload:
        return await _transition(
            info.context, input.order_id, "MARK_READY", input.reason, input.idempotency_key
        )

    @mutation(
        policy.READ_ORDER,
        store=ON_ORDER,
        description="The buyer confirms receipt (RECEIVE); the after-sale window starts. "
        + TRANSITION_CODES,
    )
    async def confirm_order_receipt(
        self, info: Ctx, input: OrderActionInput
    ) -> TransitionOrderPayload:
        return await _transition(
            info.context, input.order_id, "RECEIVE", input.reason, input.idempotency_key
        )

    @mutation(
        policy.READ_ORDER,
        store=ON_ORDER,
        description="Ask for money back on a paid order: REFUND_ONLY, RETURN_AND_REFUND "
        "(refunded once the goods are back and inspected), OUT_OF_STOCK (staff; refunded at "
        "once), EXCHANGE (the same goods again; no money). Codes: INVALID_ID, ORDER_NOT_FOUND, UNKNOWN_KIND, NOT_REFUNDABLE, "
        "AFTER_SALE_WINDOW_CLOSED, LINE_NOT_FOUND, INVALID_QUANTITY, INVALID_AMOUNT, "
        "REFUND_EXCEEDS_PAID, NOTHING_TO_REFUND, INVALID_REASON, INVALID_IDEMPOTENCY_KEY, "
        "IDEMPOTENCY_KEY_REUSED, NO_LINES, and the payment center's refund codes.",
    )
    async def request_after_sale(
        self, info: Ctx, input: RequestAfterSaleInput
    ) -> RequestAfterSalePayload:
        return await refund_api.request(info.context, input)

    @mutation(
        policy.READ_ORDER,
        store=ON_REFUND,
        description="Move an after-sale request: APPROVE, REJECT, RECEIVE_RETURN, "
        "FAIL_INSPECTION (staff), ESCALATE to arbitration, WITHDRAW (buyer), DISMISS "
        "(staff), RETRY (staff: send again what the payment provider refused). Codes: "
        "INVALID_ID, REFUND_NOT_FOUND, INVALID_TRANSITION, INVALID_REASON, "
        "NOTHING_TO_REFUND, and the payment center's refund codes.",
    )
    async def transition_after_sale(
        self, info: Ctx, input: TransitionAfterSaleInput
    ) -> TransitionAfterSalePayload:
        return await refund_api.transition(info.context, input)

    @mutation(
        policy.UPDATE_SETTINGS,
        description="Replace the tenant's order rules. Codes: INVALID_SETTING.",
    )
    async def update_order_settings(
        self, info: Ctx, input: UpdateOrderSettingsInput
    ) -> UpdateOrderSettingsPayload:
        context = info.context

        async def run() -> OrderSettings:
            return await repository.save_settings(
                context.session, context.tenant_id, _check_settings(input)
            )

        saved, errors = await attempt(context, run)
        return UpdateOrderSettingsPayload(
            settings=OrderSettingsType.of(saved) if saved else None, user_errors=errors
        )
