"""The payment subgraph: payments, and ``Order.payments`` on the order center's entity."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from centers.payment import loaders, policy, repository, service
from centers.payment.dto import PaymentInfo, PaymentStatus, PaymentTender
from kernel.context import RequestContext
from kernel.graphql.fields import StoreOf, mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.types import Money, UserError

Ctx = Info[RequestContext, None]

# The domain enums are the schema's enums: one list of names, no mapping to drift.
strawberry.enum(
    PaymentTender,
    description="How it is paid: an online provider, cash at the POS, points (积分), "
    "or stored value (储值).",
)
strawberry.enum(
    PaymentStatus,
    description="Where a tender payment stands; cash succeeds at once, online on the "
    "provider's callback.",
)


# The order center owns Order and describes it; this stub only adds ``payments``.
@strawberry.federation.type(keys=["id"])
class Order:
    id: strawberry.ID

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Order | None:
        """One of the tenant's orders; a role held at a store reaches only the orders of
        its stores. Anything else (random, another tenant's or store's) is null."""
        context = info.context
        order_id = try_parse_id(id)
        if order_id is None:
            return None
        found = await loaders.order_stores(context).load(order_id)
        if found is not None:
            return cls(id=id) if context.allows_at(policy.READ_PAYMENT, found.store_id) else None
        # Known to neither center as an order (cash taken toward an outside order's id):
        # its payments here make it exist, at their stores.
        paid = await loaders.payments_by_order(context).load(order_id)
        if any(context.allows_at(policy.READ_PAYMENT, p.store_id) for p in paid):
            return cls(id=id)
        return None

    @strawberry.field(description="Payments toward this order, one per tender, oldest first.")
    async def payments(self, info: Ctx) -> list[Payment]:
        order_id = try_parse_id(self.id)
        found = await loaders.payments_by_order(info.context).load(order_id) if order_id else []
        return [Payment.of(p) for p in found]


@strawberry.federation.type(keys=["id"], description="A payment (支付单) toward an order.")
class Payment:
    id: strawberry.ID
    order: Order
    tender: PaymentTender
    amount: Money
    status: PaymentStatus
    provider_reference: str | None = strawberry.field(
        description="The provider's serial number (支付流水号); null for cash."
    )
    created_at: datetime

    @classmethod
    def of(cls, value: PaymentInfo) -> Payment:
        return cls(
            id=strawberry.ID(str(value.id)),
            order=Order(id=strawberry.ID(str(value.order_id))),
            tender=value.tender,
            amount=Money.of(value.amount),
            status=value.status,
            provider_reference=value.provider_reference,
            created_at=value.created_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Payment | None:
        payment_id = try_parse_id(id)
        found = await loaders.payments(info.context).load(payment_id) if payment_id else None
        # A role held at a store references its stores' payments only (null otherwise).
        if found is None or not info.context.allows_at(policy.READ_PAYMENT, found.store_id):
            return None
        return cls.of(found)


@strawberry.input
class RecordCashPaymentInput:
    idempotency_key: str = strawberry.field(
        description="Unique per cash payment (e.g. the POS receipt id); a replay with the "
        "same key and input returns the first payment."
    )
    order_id: strawberry.ID
    amount: int = strawberry.field(description="Cash received, in minor units (分); above 0.")
    currency: str = "CNY"


@strawberry.type
class RecordCashPaymentPayload:
    payment: Payment | None
    user_errors: list[UserError]


@strawberry.type
class PaymentQuery:
    @query(policy.READ_PAYMENT, store=StoreOf("id", repository.stores_of_payments))
    async def payment(self, info: Ctx, id: strawberry.ID) -> Payment | None:
        return await Payment.resolve_reference(info, id)


@strawberry.type
class PaymentMutation:
    @mutation(
        policy.RECORD_PAYMENT,
        # Held at a store: only for an order whose payment (支付单) is that store's.
        store=StoreOf("input.orderId", repository.stores_of_orders),
        description="Record cash taken at the POS (现金收款) as a succeeded payment; "
        "idempotent by idempotencyKey. Codes: INVALID_ID, INVALID_AMOUNT, INVALID_CURRENCY, "
        "INVALID_IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_REUSED.",
    )
    async def record_cash_payment(
        self, info: Ctx, input: RecordCashPaymentInput
    ) -> RecordCashPaymentPayload:
        context = info.context
        recorded, errors = await attempt(
            context,
            lambda: service.record_cash_payment(
                context.session,
                context.tenant_id,
                idempotency_key=input.idempotency_key,
                order_id=parse_id(input.order_id, ["input", "orderId"]),
                amount=input.amount,
                currency=input.currency,
            ),
        )
        return RecordCashPaymentPayload(
            payment=Payment.of(recorded) if recorded else None, user_errors=errors
        )
