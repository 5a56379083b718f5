"""Pricing a cart: loading what applies, running the engine, committing and releasing.

``quote`` only reads. ``commit_quote`` prices again and then consumes what the price
used (coupons, activity budgets, per-member counters, points) with conditional updates:
each takes the row's lock and re-checks what a concurrent order left, so a coupon is
used once, a budget never overruns and a per-member limit holds, whatever the
concurrency; the loser gets a ``UserInputError`` and its transaction writes nothing.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from centers.member import api as member_api
from centers.points import api as points_api
from centers.promotion import repository
from centers.promotion.dto import (
    AllocationSource,
    LineAllocation,
    PricedLine,
    PriceQuote,
    PricingRequest,
)
from centers.promotion.engine import (
    ActivityRule,
    CouponOffer,
    MemberBenefit,
    PointsTerms,
    PricingResult,
    Scope,
    Tier,
    price,
)
from kernel.errors import UserInputError
from kernel.idempotency import request_hash

MAX_COUPON_CODES = 5


def scope_of(raw: dict[str, Any]) -> Scope:
    def ids(name: str) -> frozenset[uuid.UUID]:
        return frozenset(uuid.UUID(str(v)) for v in raw.get(name) or [])

    return Scope(
        store_ids=ids("store_ids"),
        # Channel codes are case-insensitive (the catalog says mini_program, orders MINI_PROGRAM).
        channels=frozenset(str(v).lower() for v in raw.get("channels") or []),
        member_levels=frozenset(int(v) for v in raw.get("member_levels") or []),
        sku_ids=ids("sku_ids"),
        product_ids=ids("product_ids"),
        category_ids=ids("category_ids"),
    )


def activity_rule(row: repository.ActivityRow, member_uses: int) -> ActivityRule:
    rule = row.rule
    return ActivityRule(
        id=row.info.id,
        name=row.info.name,
        kind=row.info.kind,
        scope=scope_of(row.scope),
        priority=row.priority,
        exclusive=row.exclusive,
        stack_group=row.stack_group,
        tiers=tuple(
            Tier(threshold=int(t["threshold"]), discount=int(t["discount"]))
            for t in rule.get("tiers") or []
        ),
        discount_bp=int(rule.get("discount_bp") or 0),
        unit_price=int(rule.get("unit_price") or 0),
        buy_quantity=int(rule.get("buy_quantity") or 0),
        get_quantity=int(rule.get("get_quantity") or 0),
        bundle_sku_ids=tuple(uuid.UUID(str(v)) for v in rule.get("bundle_sku_ids") or []),
        bundle_price=int(rule.get("bundle_price") or 0),
        budget_remaining=None if row.budget is None else row.budget - row.budget_used,
        per_member_limit=row.per_member_limit,
        member_uses=member_uses,
    )


def _coupon_error(index: int, message: str, code: str) -> UserInputError:
    return UserInputError(message, code=code, field=["input", "couponCodes", str(index)])


def _check_window(template: Any, at: datetime, index: int) -> None:
    if at < template["starts_at"]:
        raise _coupon_error(index, "this coupon is not valid yet", "COUPON_NOT_STARTED")
    if at >= template["ends_at"]:
        raise _coupon_error(index, "this coupon has expired", "COUPON_EXPIRED")


def _offer(template: Any, code: str, index: int, coupon_id: uuid.UUID | None) -> CouponOffer:
    return CouponOffer(
        code=code,
        code_index=index,
        template_id=template["id"],
        coupon_id=coupon_id,
        name=template["name"],
        kind=template["kind"],
        scope=scope_of(dict(template["scope"] or {})),
        amount_off=template["amount_off"],
        discount_bp=template["discount_bp"],
        max_discount=template["max_discount"],
        min_spend=template["min_spend"],
        stacks_with_promotions=template["stacks_with_promotions"],
    )


async def _coupon_offers(
    session: AsyncSession, tenant_id: uuid.UUID, request: PricingRequest
) -> list[CouponOffer]:
    if len(request.coupon_codes) > MAX_COUPON_CODES:
        raise UserInputError(
            f"at most {MAX_COUPON_CODES} coupons per order",
            code="TOO_MANY_COUPONS",
            field=["input", "couponCodes"],
        )
    offers: list[CouponOffer] = []
    seen: set[uuid.UUID] = set()
    for index, raw in enumerate(request.coupon_codes):
        # Codes are case-insensitive: people type them from a poster or a receipt.
        code = raw.strip().upper()
        issued = await repository.coupon_by_code(session, tenant_id, code) if code else None
        if issued is not None:
            # Another member's coupon behaves exactly like a code that does not exist.
            if request.member_id is None or issued["member_id"] != request.member_id:
                raise _coupon_error(index, f"no coupon {code!r}", "COUPON_NOT_FOUND")
            if issued["status"] != "AVAILABLE":
                raise _coupon_error(index, "this coupon was used already", "COUPON_EXHAUSTED")
            (template,) = await repository.templates_by_ids(
                session, tenant_id, [issued["template_id"]]
            )
            coupon_id: uuid.UUID | None = issued["id"]
        else:
            found = (
                await repository.template_by_shared_code(session, tenant_id, code) if code else None
            )
            if found is None:
                raise _coupon_error(index, f"no coupon {code!r}", "COUPON_NOT_FOUND")
            template = found
            coupon_id = None
            total = template["total_quantity"]
            if total is not None and template["redeemed"] >= total:
                raise _coupon_error(index, "this coupon is all used up", "COUPON_EXHAUSTED")
            limit = template["per_member_limit"]
            if limit is not None:
                if request.member_id is None:
                    raise _coupon_error(index, "this coupon is for members", "MEMBER_REQUIRED")
                uses = await repository.member_uses(
                    session, tenant_id, request.member_id, [template["id"]]
                )
                if uses.get(template["id"], 0) >= limit:
                    raise _coupon_error(
                        index,
                        f"this coupon can be used {limit} time(s) per member",
                        "COUPON_LIMIT_REACHED",
                    )
        _check_window(template, request.at, index)
        if template["id"] in seen:
            raise _coupon_error(index, "one coupon of a kind per order", "COUPON_DUPLICATE")
        seen.add(template["id"])
        offers.append(_offer(template, code, index, coupon_id))
    return offers


async def _price(
    session: AsyncSession, tenant_id: uuid.UUID, request: PricingRequest
) -> PricingResult:
    if request.at.utcoffset() is None:
        raise ValueError("PricingRequest.at must be timezone-aware")
    if request.points_to_redeem < 0:
        raise UserInputError(
            "pointsToRedeem must not be negative",
            code="INVALID_POINTS",
            field=["input", "pointsToRedeem"],
        )
    member_level: int | None = None
    benefit: MemberBenefit | None = None
    if request.member_id is not None:
        profile = await member_api.pricing_profile(
            session, tenant_id, request.member_id, [line.sku_id for line in request.lines]
        )
        if profile is None:
            raise UserInputError(
                "member not found", code="MEMBER_NOT_FOUND", field=["input", "memberId"]
            )
        member_level = profile.level
        if profile.level_id is not None and (profile.discount_bp or profile.member_prices):
            benefit = MemberBenefit(
                level_id=profile.level_id,
                level=profile.level,
                name=profile.level_name,
                discount_bp=profile.discount_bp,
                member_prices=dict(profile.member_prices),
                combine=profile.combine,
            )
    rows = await repository.live_activities(session, tenant_id, request.at)
    limited = [row.info.id for row in rows if row.per_member_limit is not None]
    uses = (
        await repository.member_uses(session, tenant_id, request.member_id, limited)
        if request.member_id is not None
        else {}
    )
    activities = [activity_rule(row, uses.get(row.info.id, 0)) for row in rows]
    coupons = await _coupon_offers(session, tenant_id, request)
    terms: PointsTerms | None = None
    if request.points_to_redeem > 0 and request.member_id is not None:
        found = await points_api.redemption_terms(session, tenant_id, request.member_id)
        if found is not None:
            terms = PointsTerms(
                redeem_unit_points=found.unit_points,
                redeem_unit_value=found.unit_value,
                redeem_max_bp=found.max_bp,
                balance=found.balance,
            )
    return price(
        request,
        activities=activities,
        member_level=member_level,
        benefit=benefit,
        coupons=coupons,
        points_terms=terms,
    )


async def quote(session: AsyncSession, tenant_id: uuid.UUID, request: PricingRequest) -> PriceQuote:
    return (await _price(session, tenant_id, request)).quote


def quote_to_json(value: PriceQuote) -> dict[str, Any]:
    raw: dict[str, Any] = dataclasses.asdict(value)
    for allocation in raw["allocations"]:
        allocation["source"] = str(allocation["source"])
        if allocation["source_id"] is not None:
            allocation["source_id"] = str(allocation["source_id"])
    raw["lines"] = [dict(line) for line in raw["lines"]]
    raw["explanation"] = list(raw["explanation"])
    return raw


def quote_from_json(raw: dict[str, Any]) -> PriceQuote:
    return PriceQuote(
        lines=tuple(PricedLine(**line) for line in raw["lines"]),
        allocations=tuple(
            LineAllocation(
                line_index=a["line_index"],
                source=AllocationSource(a["source"]),
                source_id=uuid.UUID(a["source_id"]) if a["source_id"] else None,
                label=a["label"],
                amount=a["amount"],
            )
            for a in raw["allocations"]
        ),
        subtotal=raw["subtotal"],
        discount_total=raw["discount_total"],
        payable_total=raw["payable_total"],
        points_redeemed=raw["points_redeemed"],
        explanation=tuple(raw["explanation"]),
    )


def _plain(value: Any) -> Any:
    """What ``dataclasses.asdict`` gives, without its deep copy of every leaf (most of the
    digest's cost): the same JSON, so digests stored by earlier versions still match."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


def _request_digest(request: PricingRequest) -> str:
    return request_hash(_plain(request))


def _consumes(request: PricingRequest, result: PricingResult) -> bool:
    """Whether ``_consume`` would write anything for ``result`` (its conditions, mirrored)."""
    member = request.member_id is not None
    return (
        any(
            a.budgeted or (a.member_limit is not None and member) for a in result.applied_activities
        )
        or bool(result.used_coupons)
        or bool(result.quote.points_redeemed and member)
    )


async def _committed_quote(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, digest: str
) -> PriceQuote:
    """The quote an earlier commit of ``order_id`` stored, if it was for this request."""
    existing = await repository.order_pricing_row(session, tenant_id, order_id)
    if existing is None:  # pragma: no cover - the insert saw a committed row
        raise RuntimeError("order pricing vanished")
    if existing["request_hash"] != digest:
        raise UserInputError(
            "this order was already priced with another cart", code="PRICING_MISMATCH"
        )
    if existing["status"] == "RELEASED":
        raise UserInputError("this order's pricing was released", code="PRICING_RELEASED")
    return quote_from_json(dict(existing["quote"]))


async def commit_quote(
    session: AsyncSession, tenant_id: uuid.UUID, request: PricingRequest, order_id: uuid.UUID
) -> PriceQuote:
    now = datetime.now(UTC)
    digest = _request_digest(request)
    # Most carts consume nothing: no coupon, no points, and no budget or per-member limit
    # among the promotions that apply. Pricing only reads, so a cart without coupons or
    # points is priced first, and when it consumes nothing its row is written once,
    # whole, instead of claimed empty and updated. A concurrent commit of the same order
    # waits on that insert as on the claim below, and an earlier commit's row wins
    # unchanged, as there. Whatever consumes is consumed only after the claim.
    result: PricingResult | None = None
    if not request.coupon_codes and not request.points_to_redeem:
        try:
            result = await _price(session, tenant_id, request)
        except UserInputError:
            result = None  # refused: the claim path answers (a committed order, or the error)
        if result is not None and not _consumes(request, result):
            written = await repository.insert_order_pricing(
                session,
                tenant_id,
                order_id,
                digest,
                now,
                quote=quote_to_json(result.quote),
                consumed=_nothing_consumed(request),
            )
            if written:
                return result.quote
            return await _committed_quote(session, tenant_id, order_id, digest)
    if not await repository.claim_order_pricing(session, tenant_id, order_id, digest, now):
        return await _committed_quote(session, tenant_id, order_id, digest)
    if result is None:
        result = await _price(session, tenant_id, request)
    consumed = await _consume(session, tenant_id, request, order_id, result, now)
    await repository.save_order_pricing(
        session, tenant_id, order_id, quote=quote_to_json(result.quote), consumed=consumed
    )
    return result.quote


def _nothing_consumed(request: PricingRequest) -> dict[str, Any]:
    return {
        "member_id": str(request.member_id) if request.member_id else None,
        "budgets": [],
        "member_uses": [],
        "coupons": [],
        "shared_codes": [],
        "points": 0,
    }


async def _consume(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    request: PricingRequest,
    order_id: uuid.UUID,
    result: PricingResult,
    at: datetime,
) -> dict[str, Any]:
    consumed = _nothing_consumed(request)
    for applied in result.applied_activities:
        if applied.budgeted:
            if not await repository.consume_activity_budget(
                session, tenant_id, applied.activity_id, applied.amount
            ):
                raise UserInputError(
                    "a promotion in this cart has just run out of budget; price the cart again",
                    code="BUDGET_EXHAUSTED",
                )
            consumed["budgets"].append([str(applied.activity_id), applied.amount])
        if applied.member_limit is not None and request.member_id is not None:
            if not await repository.count_member_use(
                session, tenant_id, applied.activity_id, request.member_id, applied.member_limit
            ):
                raise UserInputError(
                    "the member reached this promotion's limit; price the cart again",
                    code="PROMOTION_LIMIT_REACHED",
                )
            consumed["member_uses"].append(str(applied.activity_id))
    for offer in result.used_coupons:
        field = ["input", "couponCodes", str(offer.code_index)]
        if offer.coupon_id is not None:
            if not await repository.use_coupon(session, tenant_id, offer.coupon_id, order_id, at):
                raise UserInputError(
                    "this coupon was used already", code="COUPON_EXHAUSTED", field=field
                )
            consumed["coupons"].append(str(offer.coupon_id))
            continue
        if not await repository.take_template_redemption(session, tenant_id, offer.template_id):
            raise UserInputError("this coupon is all used up", code="COUPON_EXHAUSTED", field=field)
        consumed["shared_codes"].append(str(offer.template_id))
        (template,) = await repository.templates_by_ids(session, tenant_id, [offer.template_id])
        limit = template["per_member_limit"]
        if limit is not None and request.member_id is not None:
            if not await repository.count_member_use(
                session, tenant_id, offer.template_id, request.member_id, limit
            ):
                raise UserInputError(
                    f"this coupon can be used {limit} time(s) per member",
                    code="COUPON_LIMIT_REACHED",
                    field=field,
                )
            consumed["member_uses"].append(str(offer.template_id))
    if result.quote.points_redeemed and request.member_id is not None:
        await points_api.redeem_for_order(
            session,
            tenant_id,
            member_id=request.member_id,
            order_id=order_id,
            points=result.quote.points_redeemed,
        )
        consumed["points"] = result.quote.points_redeemed
    return consumed


async def release_for_order(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> None:
    row = await repository.order_pricing_row(session, tenant_id, order_id, lock=True)
    if row is None or row["status"] == "RELEASED":
        return
    consumed: dict[str, Any] = dict(row["consumed"])
    member = consumed.get("member_id")
    member_id = uuid.UUID(member) if member else None
    for activity_id, amount in consumed.get("budgets", []):
        await repository.return_activity_budget(
            session, tenant_id, uuid.UUID(activity_id), int(amount)
        )
    if member_id is not None:
        for subject in consumed.get("member_uses", []):
            await repository.uncount_member_use(session, tenant_id, uuid.UUID(subject), member_id)
    for coupon_id in consumed.get("coupons", []):
        await repository.return_coupon(session, tenant_id, uuid.UUID(coupon_id), order_id)
    for template_id in consumed.get("shared_codes", []):
        await repository.return_template_redemption(session, tenant_id, uuid.UUID(template_id))
    if consumed.get("points") and member_id is not None:
        await points_api.restore_for_order(session, tenant_id, order_id=order_id)
    await repository.mark_order_pricing_released(session, tenant_id, order_id, datetime.now(UTC))
