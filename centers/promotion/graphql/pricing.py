"""``priceCart``: what a cart costs now, with every discount explained (read-only)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import strawberry
from strawberry import Info

from centers.member import api as member_api
from centers.promotion import carts, policy, pricing
from centers.promotion.dto import AllocationSource, PriceQuote, PricingRequest
from kernel.context import RequestContext
from kernel.errors import UserInputError
from kernel.graphql.fields import query
from kernel.graphql.ids import parse_id
from kernel.graphql.types import UserError

Ctx = Info[RequestContext, None]

MAX_LINES = 100
MAX_QUANTITY = 9999

strawberry.enum(
    AllocationSource,
    description="Where a discount came from: a promotion activity, a coupon, the member "
    "level's benefit, or points redeemed.",
)


@strawberry.type(description="One discount given to one line by one source (金额分摊).")
class LineAllocation:
    line_index: int
    source: AllocationSource
    source_id: strawberry.ID | None = strawberry.field(
        description="The activity, coupon template or member level; null for points."
    )
    label: str
    amount: int


@strawberry.type
class PricedLine:
    line_index: int
    list_amount: int
    discount_amount: int
    payable_amount: int


@strawberry.type(
    name="PriceQuote", description="A priced cart: payableTotal is the sum of the lines' payables."
)
class PriceQuoteType:
    currency: str
    subtotal: int
    discount_total: int
    payable_total: int
    points_redeemed: int
    lines: list[PricedLine]
    allocations: list[LineAllocation]
    explanation: list[str] = strawberry.field(
        description="One sentence per rule applied or skipped, in the order applied."
    )

    @classmethod
    def of(cls, value: PriceQuote, currency: str) -> PriceQuoteType:
        return cls(
            currency=currency,
            subtotal=value.subtotal,
            discount_total=value.discount_total,
            payable_total=value.payable_total,
            points_redeemed=value.points_redeemed,
            lines=[
                PricedLine(
                    line_index=line.line_index,
                    list_amount=line.list_amount,
                    discount_amount=line.discount_amount,
                    payable_amount=line.payable_amount,
                )
                for line in value.lines
            ],
            allocations=[
                LineAllocation(
                    line_index=a.line_index,
                    source=a.source,
                    source_id=strawberry.ID(str(a.source_id)) if a.source_id else None,
                    label=a.label,
                    amount=a.amount,
                )
                for a in value.allocations
            ],
            explanation=list(value.explanation),
        )


@strawberry.input
class PriceCartLineInput:
    sku_id: strawberry.ID
    quantity: int


@strawberry.input
class PriceCartInput:
    store_id: strawberry.ID
    channel: str = strawberry.field(description="e.g. MINI_PROGRAM, APP, POS.")
    lines: list[PriceCartLineInput]
    member_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Staff: any member. Customers: omit (their own membership is used).",
    )
    coupon_codes: list[str] = strawberry.field(default_factory=list)
    points_to_redeem: int = 0
    at: datetime | None = strawberry.field(
        default=None, description="Price as of this moment (with offset); default now."
    )


@strawberry.type
class PriceCartResult:
    quote: PriceQuoteType | None
    user_errors: list[UserError]


async def _member(context: RequestContext, given: strawberry.ID | None) -> uuid.UUID | None:
    """Staff price for any member (scanned at the till); a customer only as their own
    membership (found by their app account), so nobody probes another member's coupons,
    benefits or points balance."""
    member_id = parse_id(given, ["input", "memberId"]) if given is not None else None
    if context.allows(policy.READ_COUPON):
        return member_id
    own = await member_api.member_by_identity(
        context.session,
        context.tenant_id,
        member_api.IdentityKind.APP,
        context.principal.subject_id,
    )
    if member_id is not None and (own is None or own.id != member_id):
        raise UserInputError(
            "you can only price as your own membership",
            code="MEMBER_NOT_YOURS",
            field=["input", "memberId"],
        )
    return own.id if own is not None else None


async def _request(context: RequestContext, input: PriceCartInput) -> tuple[PricingRequest, str]:
    if not 1 <= len(input.lines) <= MAX_LINES:
        raise UserInputError(
            f"a cart has 1 to {MAX_LINES} lines", code="NO_LINES", field=["input", "lines"]
        )
    sku_ids = [
        parse_id(line.sku_id, ["input", "lines", str(i), "skuId"])
        for i, line in enumerate(input.lines)
    ]
    for index, line in enumerate(input.lines):
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise UserInputError(
                f"quantity must be 1 to {MAX_QUANTITY}",
                code="INVALID_QUANTITY",
                field=["input", "lines", str(index), "quantity"],
            )
    at = input.at or datetime.now(UTC)
    if at.utcoffset() is None:
        raise UserInputError(
            "at needs a time zone offset", code="INVALID_TIME", field=["input", "at"]
        )
    cart = carts.Cart(
        store_id=parse_id(input.store_id, ["input", "storeId"]),
        channel=input.channel,
        member_id=await _member(context, input.member_id),
        coupon_codes=tuple(input.coupon_codes),
        points_to_redeem=input.points_to_redeem,
        at=at,
        lines=tuple(
            carts.CartLine(sku_id=sku_id, quantity=line.quantity)
            for sku_id, line in zip(sku_ids, input.lines, strict=True)
        ),
    )
    # The same request previewOrder and placeOrder build: channel/store prices, categories.
    priced = await carts.pricing_request(context.session, context.tenant_id, cart)
    request = priced.request
    currency = request.currency
    return request, currency


@strawberry.type
class PricingQuery:
    @query(
        policy.PRICE_CART,
        description="Price a cart now without writing anything: promotions, member benefit, "
        "coupons and points, each discount allocated to lines and explained. Codes: "
        "NO_LINES, INVALID_ID, INVALID_QUANTITY, SKU_NOT_FOUND, MIXED_CURRENCIES, "
        "INVALID_TIME, MEMBER_NOT_YOURS, and the pricing codes of docs/pricing.md (COUPON_*, MEMBER_*, "
        "POINTS_*, INSUFFICIENT_POINTS).",
    )
    async def price_cart(self, info: Ctx, input: PriceCartInput) -> PriceCartResult:
        context = info.context
        try:
            request, currency = await _request(context, input)
            quoted = await pricing.quote(context.session, context.tenant_id, request)
        except UserInputError as error:
            return PriceCartResult(quote=None, user_errors=[UserError.from_error(error)])
        return PriceCartResult(quote=PriceQuoteType.of(quoted, currency), user_errors=[])
