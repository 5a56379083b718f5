"""From placement input to the service's ``Placement``, and ``previewOrder``'s types."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Any

import strawberry

from centers.member import api as member_api
from centers.order import policy, service
from centers.order.dto import LineRequest
from centers.order.graphql.types import LineDiscount, OrderType
from kernel.context import RequestContext
from kernel.errors import UserInputError
from kernel.graphql.ids import parse_id
from kernel.graphql.types import Money
from kernel.money import Money as MoneyValue


@strawberry.input
class OrderLineInput:
    sku_id: strawberry.ID
    quantity: int


@strawberry.input
class GroupBuyInput:
    activity_id: strawberry.ID = strawberry.field(description="The GROUP_BUY activity.")
    group_id: strawberry.ID | None = strawberry.field(
        default=None, description="The group to join; omit to open a new group."
    )


@strawberry.input(description="Price a cart without writing anything.")
class PreviewOrderInput:
    store_id: strawberry.ID
    lines: list[OrderLineInput]
    type: OrderType | None = None
    channel: str = "POS"
    member_id: strawberry.ID | None = None
    coupon_codes: list[str] = strawberry.field(default_factory=list)
    points_to_redeem: int = 0
    group_buy: GroupBuyInput | None = strawberry.field(
        default=None, description="Price at the group-buy price (拼团价)."
    )


@strawberry.type(description="One line as placing the order would charge it.")
class PreviewLine:
    line_no: int
    sku_id: strawberry.ID
    sku_name: str
    unit_price: Money
    quantity: int
    amount: Money
    discount: Money
    payable: Money
    discounts: list[LineDiscount]


@strawberry.type(description="What placeOrder would charge for this cart, to the 分.")
class OrderPreview:
    lines: list[PreviewLine]
    list_amount: Money
    discount: Money
    delivery_fee: Money
    payable: Money
    explanation: list[str] = strawberry.field(
        description="One sentence per pricing rule applied or skipped, in order."
    )


def _value(item: Any) -> str:
    return str(item.value) if isinstance(item, Enum) else str(item)


async def _member(
    context: RequestContext, given: strawberry.ID | None, store_id: uuid.UUID
) -> uuid.UUID | None:
    """Staff of the ordering store may name any member (scanned at the till); a customer
    only their own, found by their app account, so nobody spends another member's
    coupons or points."""
    member_id = parse_id(given, ["input", "memberId"]) if given is not None else None
    if context.allows_at(policy.MANAGE_ORDER, store_id):
        return member_id
    own = await member_api.member_by_identity(
        context.session,
        context.tenant_id,
        member_api.IdentityKind.APP,
        context.principal.subject_id,
    )
    if member_id is not None and (own is None or own.id != member_id):
        raise UserInputError(
            "you can only order as your own membership",
            code="MEMBER_NOT_YOURS",
            field=["input", "memberId"],
        )
    return own.id if own is not None else None


async def placement_of(
    context: RequestContext, input: Any, idempotency_key: str
) -> service.Placement:
    """A ``PlaceOrderInput`` or ``PreviewOrderInput`` as the service's ``Placement``."""
    lines = [
        LineRequest(
            sku_id=parse_id(line.sku_id, ["input", "lines", str(i), "skuId"]),
            quantity=line.quantity,
        )
        for i, line in enumerate(input.lines)
    ]
    store_id = parse_id(input.store_id, ["input", "storeId"])
    return service.Placement(
        buyer=context.principal.subject,
        idempotency_key=idempotency_key,
        store_id=store_id,
        lines=lines,
        order_type=_value(input.type) if input.type is not None else "STANDARD",
        channel=input.channel,
        member_id=await _member(context, input.member_id, store_id),
        coupon_codes=tuple(input.coupon_codes),
        points_to_redeem=input.points_to_redeem,
        group_activity_id=(
            parse_id(input.group_buy.activity_id, ["input", "groupBuy", "activityId"])
            if input.group_buy is not None
            else None
        ),
        group_id=(
            parse_id(input.group_buy.group_id, ["input", "groupBuy", "groupId"])
            if input.group_buy is not None and input.group_buy.group_id is not None
            else None
        ),
    )


async def preview(context: RequestContext, input: PreviewOrderInput) -> OrderPreview:
    placement = await placement_of(context, input, "preview")
    priced = await service.price(context.session, context.tenant_id, placement, order_id=None)
    currency = priced.currency

    def money(amount: int) -> Money:
        return Money.of(MoneyValue(amount, currency))

    lines = []
    for index, (line, unit, computed) in enumerate(
        zip(placement.lines, priced.unit_prices, priced.amounts.lines, strict=True)
    ):
        lines.append(
            PreviewLine(
                line_no=index + 1,
                sku_id=strawberry.ID(str(line.sku_id)),
                sku_name=priced.skus[line.sku_id].name,
                unit_price=money(unit),
                quantity=line.quantity,
                amount=money(computed.list_amount),
                discount=money(computed.discount_amount),
                payable=money(computed.payable_amount),
                discounts=[
                    LineDiscount(
                        source=a.source,
                        source_id=strawberry.ID(str(a.source_id)) if a.source_id else None,
                        label=a.label,
                        amount=money(a.amount),
                    )
                    for a in priced.allocations
                    if a.line_index == index
                ],
            )
        )
    total = priced.amounts
    return OrderPreview(
        lines=lines,
        list_amount=money(total.list_amount),
        discount=money(total.discount_amount),
        delivery_fee=money(total.delivery_fee),
        payable=money(total.payable_amount),
        explanation=list(priced.explanation),
    )
