"""Stored value (储值): a member's prepaid balance, topped up and spent as a tender."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from centers.payment import flow, policy, repository
from centers.payment.dto import PaymentInfo, StoredValueEntryInfo
from centers.payment.graphql.orders import PaymentPayload
from centers.payment.graphql.payments import Payment
from kernel import idempotency
from kernel.context import RequestContext
from kernel.graphql.fields import StoreOf, mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.types import UserError
from kernel.ids import new_id

Ctx = Info[RequestContext, None]
RECENT_ENTRIES = 20


@strawberry.type(description="One change to a member's stored value (储值流水).")
class StoredValueEntry:
    id: strawberry.ID
    delta: int
    balance_after: int
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, value: StoredValueEntryInfo) -> StoredValueEntry:
        return cls(
            id=strawberry.ID(str(value.id)),
            delta=value.delta,
            balance_after=value.balance_after,
            reason=value.reason,
            created_at=value.created_at,
        )


@strawberry.type(description="A member's stored value (储值余额).")
class StoredValue:
    balance: int
    currency: str
    recent_entries: list[StoredValueEntry] = strawberry.field(
        description=f"The last {RECENT_ENTRIES} changes, newest first."
    )


@strawberry.input
class TopUpStoredValueInput:
    idempotency_key: str
    member_id: strawberry.ID
    amount: int
    currency: str = "CNY"


@strawberry.type
class TopUpStoredValuePayload:
    entry: StoredValueEntry | None
    user_errors: list[UserError]


@strawberry.input
class PayWithStoredValueInput:
    idempotency_key: str
    order_id: strawberry.ID
    member_id: strawberry.ID
    amount: int


@strawberry.type
class StoredValueQuery:
    @query(policy.READ_PAYMENT, description="A member's stored value; null when never topped up.")
    async def stored_value(self, info: Ctx, member_id: strawberry.ID) -> StoredValue | None:
        context = info.context
        member = try_parse_id(member_id)
        found = (
            await repository.stored_value_balance(context.session, context.tenant_id, member)
            if member
            else None
        )
        if member is None or found is None:
            return None
        entries = await repository.stored_value_entries(
            context.session, context.tenant_id, member, RECENT_ENTRIES
        )
        return StoredValue(
            balance=found[0],
            currency=found[1],
            recent_entries=[StoredValueEntry.of(e) for e in entries],
        )


@strawberry.type
class StoredValueMutation:
    @mutation(
        policy.RECORD_PAYMENT,
        description="Put money on a member's stored value (储值充值), once per idempotencyKey. "
        "Codes: INVALID_ID, INVALID_AMOUNT, INVALID_CURRENCY, MEMBER_NOT_FOUND, "
        "BALANCE_LIMIT, INVALID_IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_REUSED.",
    )
    async def top_up_stored_value(
        self, info: Ctx, input: TopUpStoredValueInput
    ) -> TopUpStoredValuePayload:
        context = info.context

        async def run() -> StoredValueEntryInfo:
            return await flow.top_up_stored_value(
                context.session,
                context.tenant_id,
                key=input.idempotency_key,
                member_id=parse_id(input.member_id, ["input", "memberId"]),
                amount=input.amount,
                currency=input.currency,
            )

        entry, errors = await attempt(context, run)
        return TopUpStoredValuePayload(
            entry=StoredValueEntry.of(entry) if entry else None, user_errors=errors
        )

    @mutation(
        policy.RECORD_PAYMENT,
        # The order names the store; topping up (a member's, no store) stays tenant-wide.
        store=StoreOf("input.orderId", repository.stores_of_orders),
        description="Pay part or all of an order from a member's stored value (储值支付). "
        "Codes: INVALID_ID, PAYMENT_NOT_FOUND, INVALID_AMOUNT, AMOUNT_EXCEEDS_DUE, "
        "ORDER_CLOSED, ALREADY_PAID, INSUFFICIENT_BALANCE, INVALID_IDEMPOTENCY_KEY, "
        "IDEMPOTENCY_KEY_REUSED.",
    )
    async def pay_with_stored_value(
        self, info: Ctx, input: PayWithStoredValueInput
    ) -> PaymentPayload:
        context = info.context

        async def run() -> PaymentInfo:
            order_id = parse_id(input.order_id, ["input", "orderId"])
            member_id = parse_id(input.member_id, ["input", "memberId"])
            claim = await idempotency.claim(
                context.session,
                context.tenant_id,
                "payment.stored_value",
                input.idempotency_key,
                {"order": order_id, "member": member_id, "amount": input.amount},
                new_id(),
            )
            if claim.replayed:
                (first,) = await repository.payments_by_ids(
                    context.session, context.tenant_id, [claim.result_id]
                )
                return first
            return await flow.pay_with_stored_value(
                context.session,
                context.tenant_id,
                payment_id=claim.result_id,
                order_id=order_id,
                member_id=member_id,
                amount=input.amount,
            )

        paid, errors = await attempt(context, run)
        return PaymentPayload(payment=Payment.of(paid) if paid else None, user_errors=errors)
