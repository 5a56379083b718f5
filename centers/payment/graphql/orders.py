"""An order's payment (支付单): tenders, online payments, refunds, reconciliation."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import strawberry
from strawberry import Info

from centers.payment import flow, policy, providers, reconciliation, refunds, repository
from centers.payment.dto import (
    OnlinePaymentStart,
    OrderPaymentInfo,
    OrderPaymentStatus,
    PaymentInfo,
    PaymentTender,
    RefundInfo,
    RefundStatus,
)
from centers.payment.graphql.payments import Payment
from kernel import idempotency
from kernel.context import RequestContext
from kernel.errors import NotFoundError, UserInputError
from kernel.graphql.fields import StoreArg, StoreOf, mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.types import Money, UserError
from kernel.ids import new_id

Ctx = Info[RequestContext, None]

strawberry.enum(
    OrderPaymentStatus,
    description="OPEN until the tenders cover the amount; PAID; CLOSED when the order was "
    "cancelled first (its tenders refunded).",
)
strawberry.enum(RefundStatus, description="PENDING until the provider confirms an online refund.")


@strawberry.type
class LineAmount:
    line_id: strawberry.ID
    amount: int


@strawberry.type(description="A refund (退款单) to one original tender.")
class Refund:
    id: strawberry.ID
    payment_id: strawberry.ID = strawberry.field(description="The tender payment refunded.")
    tender: PaymentTender
    amount: Money
    reason: str
    status: RefundStatus
    provider_reference: str | None
    lines: list[LineAmount] = strawberry.field(description="What it gives back per order line.")
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, value: RefundInfo) -> Refund:
        return cls(
            id=strawberry.ID(str(value.id)),
            payment_id=strawberry.ID(str(value.payment_id)),
            tender=value.tender,
            amount=Money.of(value.amount),
            reason=value.reason,
            status=value.status,
            provider_reference=value.provider_reference,
            lines=[
                LineAmount(line_id=strawberry.ID(str(k)), amount=v)
                for k, v in sorted(value.line_amounts.items(), key=lambda i: str(i[0]))
            ],
            created_at=value.created_at,
            completed_at=value.completed_at,
        )


@strawberry.type(description="The payment (支付单) of one order, with its tenders and refunds.")
class OrderPayment:
    id: strawberry.ID
    order_id: strawberry.ID
    status: OrderPaymentStatus
    amount: Money
    paid_amount: int
    refunded_amount: int
    lines: list[LineAmount] = strawberry.field(description="The payable of each order line.")
    created_at: datetime
    paid_at: datetime | None
    closed_at: datetime | None
    deposit_amount: int | None = strawberry.field(
        description="Presale (预售): the deposit paid first; null for a one-stage payment."
    )
    balance_from: datetime | None = strawberry.field(
        description="Presale: when the balance can be paid (BALANCE_NOT_OPEN before)."
    )

    @classmethod
    def of(cls, value: OrderPaymentInfo) -> OrderPayment:
        return cls(
            id=strawberry.ID(str(value.id)),
            order_id=strawberry.ID(str(value.order_id)),
            status=value.status,
            amount=Money.of(value.amount),
            paid_amount=value.paid_amount,
            refunded_amount=value.refunded_amount,
            lines=[
                LineAmount(line_id=strawberry.ID(str(k)), amount=v)
                for k, v in sorted(value.line_amounts.items(), key=lambda i: str(i[0]))
            ],
            created_at=value.created_at,
            paid_at=value.paid_at,
            closed_at=value.closed_at,
            deposit_amount=value.deposit_amount,
            balance_from=value.balance_from,
        )

    @strawberry.field(description="Tender payments, oldest first.")
    async def tenders(self, info: Ctx) -> list[Payment]:
        context = info.context
        order_id = uuid.UUID(self.order_id)
        found = await repository.payments_by_order_ids(
            context.session, context.tenant_id, [order_id]
        )
        return [Payment.of(p) for p in found[order_id]]

    @strawberry.field(description="Refunds, oldest first.")
    async def refunds(self, info: Ctx) -> list[Refund]:
        context = info.context
        found = await repository.refunds_of_order(
            context.session, context.tenant_id, uuid.UUID(self.order_id)
        )
        return [Refund.of(r) for r in found]


@strawberry.type(description="One tender's money at one store on one day (对账).")
class ReconciliationLine:
    tender: PaymentTender
    provider: str | None
    payments: int
    paid: int
    refunds: int
    refunded: int
    net: int
    currency: str


@strawberry.type
class KeyValue:
    key: str
    value: str


@strawberry.input
class KeyValueInput:
    key: str
    value: str


@strawberry.input
class PayWithPointsInput:
    idempotency_key: str
    order_id: strawberry.ID
    member_id: strawberry.ID
    points: int = strawberry.field(description="A multiple of the brand's redemption unit.")


@strawberry.type
class PaymentPayload:
    payment: Payment | None
    user_errors: list[UserError]


@strawberry.input
class StartOnlinePaymentInput:
    order_id: strawberry.ID
    provider: str = strawberry.field(description="e.g. sandbox")


@strawberry.type
class StartOnlinePaymentPayload:
    payment: Payment | None
    client_parameters: list[KeyValue] = strawberry.field(
        description="What the app needs to launch the wallet (prepay id, pay URL…)."
    )
    user_errors: list[UserError]


@strawberry.input
class RefundLineInput:
    line_id: strawberry.ID
    amount: int


@strawberry.input
class RefundPaymentInput:
    idempotency_key: str
    order_id: strawberry.ID
    lines: list[RefundLineInput]
    reason: str = "refund"


@strawberry.type
class RefundPaymentPayload:
    refunds: list[Refund]
    user_errors: list[UserError]


@strawberry.input
class ConfigurePaymentProviderInput:
    provider: str
    settings: list[KeyValueInput] = strawberry.field(
        description="e.g. base_url, merchant_id, notify_url (our callback URL)."
    )
    secret: str = strawberry.field(description="The merchant signing secret; stored sealed.")


@strawberry.type
class ConfigurePaymentProviderPayload:
    provider: str | None
    user_errors: list[UserError]


@strawberry.type
class OrderPaymentQuery:
    @query(
        policy.READ_PAYMENT,
        store=StoreOf("orderId", repository.stores_of_orders),
        description="An order's payment; null when it has none.",
    )
    async def order_payment(self, info: Ctx, order_id: strawberry.ID) -> OrderPayment | None:
        context = info.context
        parsed = try_parse_id(order_id)
        found = (
            await repository.order_payment_of(context.session, context.tenant_id, parsed)
            if parsed
            else None
        )
        return OrderPayment.of(found) if found else None

    @query(
        policy.RECONCILE,
        store=StoreArg("storeId"),
        description="A store's day (in its time zone) per tender: payments captured and "
        "refunds completed. Unknown store: NOT_FOUND.",
    )
    async def payment_reconciliation(
        self, info: Ctx, store_id: strawberry.ID, day: date
    ) -> list[ReconciliationLine]:
        context = info.context
        parsed = try_parse_id(store_id)
        if parsed is None:
            raise NotFoundError("store not found")
        try:
            rows = await reconciliation.daily(context.session, context.tenant_id, parsed, day)
        except UserInputError:
            # Another brand's store behaves exactly like one that does not exist.
            raise NotFoundError("store not found") from None
        return [
            ReconciliationLine(
                tender=r.tender,
                provider=r.provider,
                payments=r.payments,
                paid=r.paid,
                refunds=r.refunds,
                refunded=r.refunded,
                net=r.net,
                currency=r.currency,
            )
            for r in rows
        ]


@strawberry.type
class OrderPaymentMutation:
    @mutation(
        policy.RECORD_PAYMENT,
        store=StoreOf("input.orderId", repository.stores_of_orders),
        description="Pay part or all of an order with a member's points (积分支付) at the "
        "brand's rate. Codes: INVALID_ID, PAYMENT_NOT_FOUND, POINTS_NOT_ACCEPTED, "
        "INVALID_POINTS, POINTS_CAP_EXCEEDED, AMOUNT_EXCEEDS_DUE, ORDER_CLOSED, ALREADY_PAID, "
        "INSUFFICIENT_POINTS, INVALID_IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_REUSED.",
    )
    async def pay_with_points(self, info: Ctx, input: PayWithPointsInput) -> PaymentPayload:
        context = info.context

        async def run() -> PaymentInfo:
            order_id = parse_id(input.order_id, ["input", "orderId"])
            member_id = parse_id(input.member_id, ["input", "memberId"])
            claim = await idempotency.claim(
                context.session,
                context.tenant_id,
                "payment.points",
                input.idempotency_key,
                {"order": order_id, "member": member_id, "points": input.points},
                new_id(),
            )
            if claim.replayed:
                (first,) = await repository.payments_by_ids(
                    context.session, context.tenant_id, [claim.result_id]
                )
                return first
            return await flow.pay_with_points(
                context.session,
                context.tenant_id,
                payment_id=claim.result_id,
                order_id=order_id,
                member_id=member_id,
                points=input.points,
            )

        paid, errors = await attempt(context, run)
        return PaymentPayload(payment=Payment.of(paid) if paid else None, user_errors=errors)

    @mutation(
        policy.START_ONLINE,
        store=StoreOf("input.orderId", repository.stores_of_orders),
        description="Open a provider payment for what the order owes (统一下单); asking "
        "again while it is pending returns the same one. The provider's signed callback "
        "captures it. Codes: INVALID_ID, PAYMENT_NOT_FOUND, PROVIDER_NOT_CONFIGURED, "
        "AMOUNT_EXCEEDS_DUE, BALANCE_NOT_OPEN, ORDER_CLOSED, ALREADY_PAID, PROVIDER_UNAVAILABLE.",
    )
    async def start_online_payment(
        self, info: Ctx, input: StartOnlinePaymentInput
    ) -> StartOnlinePaymentPayload:
        context = info.context

        async def run() -> OnlinePaymentStart:
            return await flow.start_online_payment(
                context.session,
                context.tenant_id,
                order_id=parse_id(input.order_id, ["input", "orderId"]),
                provider=input.provider,
            )

        started, errors = await attempt(context, run)
        if started is None:
            return StartOnlinePaymentPayload(payment=None, client_parameters=[], user_errors=errors)
        return StartOnlinePaymentPayload(
            payment=Payment.of(started.payment),
            client_parameters=[
                KeyValue(key=k, value=v) for k, v in sorted(started.client_parameters.items())
            ],
            user_errors=[],
        )

    @mutation(
        policy.REFUND,
        store=StoreOf("input.orderId", repository.stores_of_orders),
        description="Refund amounts of a paid order's lines to the original tenders (one "
        "refund per tender; never more than a tender paid on a line); idempotent by "
        "idempotencyKey. The order counts it on Order.refunded and OrderLine.refunded in "
        "the same transaction, as an after-sale refund (no goods back: use "
        "requestAfterSale for returns). Codes: INVALID_ID, NO_LINES, INVALID_AMOUNT, LINE_NOT_FOUND, "
        "REFUND_EXCEEDS_PAID, PAYMENT_NOT_FOUND, NOT_REFUNDABLE, INVALID_REASON, "
        "PROVIDER_UNAVAILABLE, INVALID_IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_REUSED.",
    )
    async def refund_payment(self, info: Ctx, input: RefundPaymentInput) -> RefundPaymentPayload:
        context = info.context

        async def run() -> list[RefundInfo]:
            lines: dict[uuid.UUID, int] = {}
            for index, line in enumerate(input.lines):
                line_id = parse_id(line.line_id, ["input", "lines", str(index), "lineId"])
                lines[line_id] = lines.get(line_id, 0) + line.amount
            return await refunds.refund(
                context.session,
                context.tenant_id,
                order_id=parse_id(input.order_id, ["input", "orderId"]),
                key=input.idempotency_key,
                line_amounts=lines,
                reason=input.reason,
            )

        made, errors = await attempt(context, run)
        return RefundPaymentPayload(refunds=[Refund.of(r) for r in made or []], user_errors=errors)

    @mutation(
        policy.CONFIGURE_PROVIDER,
        description="Set the brand's merchant account at a payment provider (the secret is "
        "sealed at rest). Codes: UNKNOWN_PROVIDER, INVALID_SECRET, INVALID_SETTINGS.",
    )
    async def configure_payment_provider(
        self, info: Ctx, input: ConfigurePaymentProviderInput
    ) -> ConfigurePaymentProviderPayload:
        context = info.context

        async def run() -> str:
            await providers.configure(
                context.session,
                context.tenant_id,
                provider=input.provider,
                settings={kv.key: kv.value for kv in input.settings},
                secret=input.secret,
            )
            return input.provider

        done, errors = await attempt(context, run)
        return ConfigurePaymentProviderPayload(provider=done, user_errors=errors)
