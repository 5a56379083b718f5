"""After-sale requests (售后单) in the API: types, the queue, request and transitions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from centers.order import loaders, policy, refunds, repository
from centers.order.dto import RefundInfo, RefundLineRequest
from centers.order.graphql.types import Ctx, _enum, actor_at, actor_on_order, visible_orders
from centers.order.machine import Actor
from centers.order.machine.refunds import REFUND_EVENTS, REFUND_MACHINES, REFUND_STATES
from kernel.context import RequestContext
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.types import Money, UserError

AfterSaleKind = _enum(
    "AfterSaleKind", list(REFUND_MACHINES), "What an after-sale request asks for."
)
AfterSaleStatus = _enum("AfterSaleStatus", REFUND_STATES, "Where an after-sale request stands.")
AfterSaleEvent = _enum("AfterSaleEvent", REFUND_EVENTS, "An event of an after-sale request.")


_views = [v for m in REFUND_MACHINES.values() for v in m.views.values()]
AfterSaleBuyerStatus = _enum(
    "AfterSaleBuyerStatus",
    [v.buyer for v in _views],
    "An after-sale request as the buyer reads it.",
)
AfterSaleMerchantStatus = _enum(
    "AfterSaleMerchantStatus", [v.merchant for v in _views], "As the store reads it."
)
AfterSaleErpStatus = _enum("AfterSaleErpStatus", [v.erp for v in _views], "As the ERP reads it.")


@strawberry.type(description="An after-sale request's state as each audience reads it.")
class AfterSaleStatusViews:
    buyer: str = strawberry.field(graphql_type=AfterSaleBuyerStatus)
    merchant: str = strawberry.field(graphql_type=AfterSaleMerchantStatus)
    erp: str = strawberry.field(graphql_type=AfterSaleErpStatus)


def _value(item: Any) -> str:
    return str(item.value) if isinstance(item, Enum) else str(item)


@strawberry.type
class AfterSaleLine:
    line_no: int
    quantity: int = strawberry.field(description="Units concerned (returned ones restocked).")
    amount: Money
    refused: Money = strawberry.field(
        description="Refused by the payment provider and not refunded yet (RETRY sends it "
        "again); zero otherwise."
    )


@strawberry.type(description="An after-sale request (售后单) on an order.")
class AfterSale:
    id: strawberry.ID
    order_id: strawberry.ID
    kind: str = strawberry.field(graphql_type=AfterSaleKind)
    status: str = strawberry.field(graphql_type=AfterSaleStatus)
    amount: Money
    reason: str
    note: str = strawberry.field(description="The reason given with the last decision.")
    requested_by: str
    requested_at: datetime
    updated_at: datetime
    lines: list[AfterSaleLine]

    @classmethod
    def of(cls, value: RefundInfo) -> AfterSale:
        currency = value.amount.currency
        return cls(
            id=strawberry.ID(str(value.id)),
            order_id=strawberry.ID(str(value.order_id)),
            kind=value.kind,
            status=value.status,
            amount=Money.of(value.amount),
            reason=value.reason,
            note=value.note,
            requested_by=value.requested_by,
            requested_at=value.requested_at,
            updated_at=value.updated_at,
            lines=[
                AfterSaleLine(
                    line_no=line.line_no,
                    quantity=line.quantity,
                    amount=Money(amount=line.amount, currency=currency),
                    refused=Money(amount=line.failed_amount, currency=currency),
                )
                for line in value.lines
            ],
        )

    @strawberry.field
    def status_views(self) -> AfterSaleStatusViews:
        view = REFUND_MACHINES[self.kind].views[self.status]
        return AfterSaleStatusViews(buyer=view.buyer, merchant=view.merchant, erp=view.erp)

    @strawberry.field(
        graphql_type=list[AfterSaleEvent],  # type: ignore[valid-type]
        description="Events the caller may fire now.",
    )
    async def available_events(self, info: Ctx) -> list[str]:
        return REFUND_MACHINES[self.kind].events_for(
            self.status, await actor_on_order(info.context, try_parse_id(self.order_id))
        )


@strawberry.input
class AfterSaleLineInput:
    line_no: int
    quantity: int = 0
    amount: int | None = strawberry.field(
        default=None, description="Minor units; default: all that is left on the line."
    )


@strawberry.input
class RequestAfterSaleInput:
    idempotency_key: str
    order_id: strawberry.ID
    kind: AfterSaleKind  # type: ignore[valid-type]
    lines: list[AfterSaleLineInput] | None = strawberry.field(
        default=None, description="Omit to ask for everything still refundable."
    )
    reason: str = ""
    delivery_fee: bool = strawberry.field(
        default=False,
        description="Also refund what is left of the delivery fee (运费); it shows as "
        "the request's line number 0.",
    )


@strawberry.type
class RequestAfterSalePayload:
    after_sale: AfterSale | None
    replayed: bool
    user_errors: list[UserError]


@strawberry.input
class TransitionAfterSaleInput:
    refund_id: strawberry.ID
    event: AfterSaleEvent  # type: ignore[valid-type]
    reason: str = ""


@strawberry.type
class TransitionAfterSalePayload:
    after_sale: AfterSale | None
    user_errors: list[UserError]


async def actor_on_refund(context: RequestContext, refund_id: uuid.UUID | None) -> Actor:
    """Staff on an after-sale request: tenant-wide, or at its order's store."""
    if refund_id is None or context.allows(policy.MANAGE_ORDER):
        return actor_at(context, None)
    stores = await repository.stores_of_refunds(context.session, context.tenant_id, [refund_id])
    return actor_at(context, stores.get(refund_id))


async def order_refunds(context: RequestContext, order_id: Any) -> list[AfterSale]:
    found = await loaders.refunds(context).load(order_id)
    return [AfterSale.of(r) for r in found]


async def refund_queue(
    context: RequestContext, first: int, after: str | None, status: list[Any] | None
) -> Connection[AfterSale]:
    page = page_request(first, after)
    rows = await repository.list_refunds(
        context.session,
        context.tenant_id,
        page,
        buyer=visible_orders(context),
        statuses=[_value(s) for s in status or ()],
    )
    return connection(rows, page, AfterSale.of, lambda r: [r.id])


async def request(context: RequestContext, input: RequestAfterSaleInput) -> RequestAfterSalePayload:
    kind = await actor_on_order(context, try_parse_id(input.order_id))

    async def run() -> tuple[RefundInfo, bool]:
        return await refunds.request_refund(
            context.session,
            context.tenant_id,
            parse_id(input.order_id, ["input", "orderId"]),
            kind=_value(input.kind),
            lines=(
                [
                    RefundLineRequest(line_no=x.line_no, quantity=x.quantity, amount=x.amount)
                    for x in input.lines
                ]
                if input.lines is not None
                else None
            ),
            reason=input.reason,
            actor=context.principal.subject,
            actor_kind=kind,
            idempotency_key=input.idempotency_key,
            buyer=context.principal.subject if kind is Actor.BUYER else None,
            delivery_fee=input.delivery_fee,
        )

    result, errors = await attempt(context, run)
    return RequestAfterSalePayload(
        after_sale=AfterSale.of(result[0]) if result else None,
        replayed=result[1] if result else False,
        user_errors=errors,
    )


async def transition(
    context: RequestContext, input: TransitionAfterSaleInput
) -> TransitionAfterSalePayload:
    kind = await actor_on_refund(context, try_parse_id(input.refund_id))

    async def run() -> RefundInfo:
        return await refunds.apply_refund_event(
            context.session,
            context.tenant_id,
            parse_id(input.refund_id, ["input", "refundId"]),
            _value(input.event),
            actor=context.principal.subject,
            actor_kind=kind,
            reason=input.reason,
            buyer=context.principal.subject if kind is Actor.BUYER else None,
        )

    result, errors = await attempt(context, run)
    return TransitionAfterSalePayload(
        after_sale=AfterSale.of(result) if result else None, user_errors=errors
    )
