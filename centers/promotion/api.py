"""The promotion center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import api as product_api
from centers.promotion import carts, pricing, repository, service
from centers.promotion.carts import Cart, CartLine, PricedCart
from centers.promotion.dto import (
    AllocationSource,
    GroupBuyTerms,
    ImportOutcome,
    LineAllocation,
    PricedLine,
    PriceQuote,
    PricingLine,
    PricingRequest,
    PromotionActivityInfo,
    PromotionKind,
    PromotionRules,
    PromotionScope,
    PromotionStatus,
    SpendTier,
)

__all__ = [
    "AllocationSource",
    "Cart",
    "CartLine",
    "GroupBuyTerms",
    "ImportOutcome",
    "LineAllocation",
    "PriceQuote",
    "PricedCart",
    "PricedLine",
    "PricingLine",
    "PricingRequest",
    "PromotionActivityInfo",
    "PromotionKind",
    "PromotionRules",
    "PromotionScope",
    "PromotionStatus",
    "SpendTier",
    "cart_request",
    "commit_quote",
    "create_activity",
    "get_activities",
    "get_activity",
    "group_buy_terms",
    "import_activity",
    "pricing_request",
    "quote",
    "release_for_order",
]


async def create_activity(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    kind: PromotionKind,
    starts_at: datetime,
    ends_at: datetime,
) -> PromotionActivityInfo:
    """Create a DRAFT activity; raises ``UserInputError`` (``INVALID_NAME``, ``INVALID_WINDOW``)."""
    return await service.create_activity(
        session, tenant_id, name=name, kind=kind, starts_at=starts_at, ends_at=ends_at
    )


async def import_activity(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    external_id: str,
    source_version: int,
    name: str,
    kind: PromotionKind,
    starts_at: datetime,
    ends_at: datetime,
    rules: PromotionRules | None = None,
) -> ImportOutcome:
    """Create or update an activity by the ERP's ``external_id`` (促销同步), idempotently.

    A ``source_version`` not newer than the last applied changes nothing
    (``applied=False``). New activities are DRAFTs; name and window follow the ERP in any
    status, rules only while DRAFT (``rules_kept`` says they were not applied). Raises
    ``UserInputError`` like ``createPromotionActivity`` (``INVALID_NAME``,
    ``INVALID_WINDOW``, ``INVALID_RULES``) and ``INVALID_EXTERNAL_ID``,
    ``INVALID_SOURCE_VERSION``, ``KIND_CHANGED`` (the id names an activity of another kind).
    """
    return await service.import_activity(
        session,
        tenant_id,
        external_id=external_id,
        source_version=source_version,
        name=name,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        rules=rules,
    )


async def get_activities(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, PromotionActivityInfo]:
    """The tenant's activities among ``ids``; ids of other tenants are simply absent."""
    return {a.id: a for a in await repository.activities_by_ids(session, tenant_id, ids)}


async def get_activity(
    session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID
) -> PromotionActivityInfo | None:
    """One activity of the tenant, or ``None`` (also for another tenant's activity)."""
    return (await get_activities(session, tenant_id, [activity_id])).get(activity_id)


async def group_buy_terms(
    session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID, at: datetime
) -> GroupBuyTerms | None:
    """The GROUP_BUY activity's group size and window, and whether it is live at ``at``;
    ``None`` when it is no GROUP_BUY activity of the tenant."""
    found = await repository.activity_rows_by_ids(session, tenant_id, [activity_id])
    if not found or found[0].info.kind is not PromotionKind.GROUP_BUY:
        return None
    details = service.details_of(found[0])
    info = details.activity
    return GroupBuyTerms(
        activity_id=info.id,
        active=info.status is PromotionStatus.ACTIVE and info.starts_at <= at < info.ends_at,
        group_size=details.rules.group_size,
        group_minutes=details.rules.group_minutes,
        ends_at=info.ends_at,
    )


async def pricing_request(session: AsyncSession, tenant_id: uuid.UUID, cart: Cart) -> PricedCart:
    """The pricing request of a cart, as ``priceCart`` builds it: each line at its SKU's
    channel and store price, with its product and category. ``previewOrder`` and
    ``placeOrder`` build theirs here too, so all three price a cart alike. Raises
    ``UserInputError``: ``SKU_NOT_FOUND``, ``MIXED_CURRENCIES``."""
    return await carts.pricing_request(session, tenant_id, cart)


def cart_request(cart: Cart, catalog: product_api.CartCatalog) -> PricedCart:
    """``pricing_request`` from a catalog the caller already read
    (``product_api.cart_catalog_in``, with its other reads in one statement): the same
    request, the same errors."""
    return carts.cart_request(cart, catalog)


async def quote(session: AsyncSession, tenant_id: uuid.UUID, request: PricingRequest) -> PriceQuote:
    """Price a cart without writing anything (for ``previewOrder``).

    Applies, in this order: live promotion activities (ACTIVE, ``request.at`` inside
    their window, in scope), the member's level benefit (source ``MEMBER``), the coupons
    in ``request.coupon_codes`` (source ``COUPON``) and ``request.points_to_redeem``
    (source ``POINTS``); see docs/pricing.md. Deterministic: the same request on the
    same data gives the same quote. ``payable_total == sum(line.payable_amount)`` and no
    line goes below zero.

    Raises ``UserInputError`` (field paths under ``input``): ``MEMBER_NOT_FOUND``;
    for a coupon code (field ``["input", "couponCodes", i]``): ``COUPON_NOT_FOUND``,
    ``COUPON_NOT_STARTED``, ``COUPON_EXPIRED``, ``COUPON_EXHAUSTED``,
    ``COUPON_LIMIT_REACHED``, ``COUPON_NOT_APPLICABLE``, ``COUPON_DUPLICATE``,
    ``MEMBER_REQUIRED``, ``TOO_MANY_COUPONS``; for points (field
    ``["input", "pointsToRedeem"]``): ``MEMBER_REQUIRED``, ``POINTS_NOT_ACCEPTED``,
    ``INVALID_POINTS``, ``INSUFFICIENT_POINTS``, ``POINTS_CAP_EXCEEDED``. A promotion
    that does not apply (or whose budget or per-member limit is used up) is skipped and
    said so in ``explanation``, never an error.
    """
    return await pricing.quote(session, tenant_id, request)


async def commit_quote(
    session: AsyncSession, tenant_id: uuid.UUID, request: PricingRequest, order_id: uuid.UUID
) -> PriceQuote:
    """Price the cart again and consume what the price uses, for ``order_id``.

    Consumes issued coupons (used once), shared-code redemptions (total quantity),
    activity budgets, per-member limits, and redeems points through the points center,
    all in the caller's transaction. Returns what ``quote`` returns for the same request
    if nothing changed in between. Idempotent per ``order_id``: committing the same
    request again returns the first quote and consumes nothing more.

    Raises ``UserInputError`` with the codes of ``quote``, and when a concurrent order
    won a race: ``COUPON_EXHAUSTED``, ``COUPON_LIMIT_REACHED``, ``BUDGET_EXHAUSTED``,
    ``PROMOTION_LIMIT_REACHED``, ``INSUFFICIENT_POINTS``; ``PRICING_MISMATCH`` when the
    order was committed with another request, ``PRICING_RELEASED`` after a release. On
    any of them the caller's transaction (or savepoint) must be rolled back: the
    consumption may be half done.
    """
    return await pricing.commit_quote(session, tenant_id, request, order_id)


async def release_for_order(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> None:
    """Give back everything ``commit_quote`` consumed for ``order_id`` (order cancelled
    before payment, or payment timed out): coupons become available again, budgets and
    per-member counters are returned, redeemed points go back to their lots. Idempotent;
    does nothing for an order never committed. Partial refunds do not call this: they
    keep the promotion and refund the allocated line amounts.
    """
    await pricing.release_for_order(session, tenant_id, order_id)
