"""Order placement: the order control service (订单控制服务).

Placement runs in the caller's single transaction: claim the idempotency key, price
the lines (product; discounts allocated per line by source), split them into
sub-orders, reserve stock (stock), write the order, its sub-orders, lines, discounts,
first history entry, the ``order.placed`` outbox event and the change notification,
and schedule the payment timeout. Any ``UserInputError`` undoes all of it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from centers.member import api as member_api
from centers.order import amounts, groups, repository, transitions
from centers.order.amounts import DraftLine
from centers.order.dto import (
    LineDiscountInfo,
    LineRequest,
    OrderInfo,
    OrderLineInfo,
    OrderSettings,
    SubOrderInfo,
    TransitionResult,
    delivery_fee_id,
    order_line_id,
)
from centers.order.events import OrderPlaced, PlacedLine
from centers.order.machine import MACHINES, Actor, machine_for
from centers.payment import api as payment_api
from centers.product import api as product_api
from centers.promotion import api as promotion_api
from centers.stock import api as stock_api
from centers.store import api as store_api
from kernel import idempotency
from kernel.batch import Batch, Column
from kernel.errors import UserInputError
from kernel.ids import new_id, new_order_number
from kernel.jobs import schedule_in
from kernel.money import Money
from kernel.outbox import emit_in, run_handlers

MAX_LINES = 100
MAX_QUANTITY = 9_999
NUMBER_ATTEMPTS = 5
CHANNEL_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
# Types whose sub-orders ship, and so carry the tenant's delivery fee.
SHIPPED_TYPES = frozenset({"STANDARD", "COD", "PRESALE"})


@dataclass(frozen=True, slots=True)
class Placement:
    """What a buyer asks for; ``external_id`` only for orders imported from a channel."""

    buyer: str
    idempotency_key: str
    store_id: uuid.UUID
    lines: Sequence[LineRequest]
    order_type: str = "STANDARD"
    channel: str = "POS"
    external_id: str | None = None
    member_id: uuid.UUID | None = None  # the buyer's membership, for benefits/coupons/points
    coupon_codes: tuple[str, ...] = ()
    points_to_redeem: int = 0
    prepaid: bool = False  # a channel collected the money: a CHANNEL tender pays it
    # Group buy (拼团): the GROUP_BUY activity, and the group to join (None: open one).
    group_activity_id: uuid.UUID | None = None
    group_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Priced:
    """A cart priced exactly as placing it would charge."""

    currency: str
    skus: dict[uuid.UUID, product_api.SkuInfo]
    unit_prices: tuple[int, ...]
    allocations: tuple[amounts.Allocation, ...]
    amounts: amounts.OrderAmounts
    explanation: tuple[str, ...]
    settings: OrderSettings
    drafts: tuple[DraftLine, ...]
    # Lines priced by an active FLASH_SALE activity (秒杀): their units come from the
    # flash sale opened at the ordering store (``stock.api.flash_reserve``), never from
    # ordinary stock, so the flash price is sold exactly as many times as there are units.
    flash_lines: frozenset[int] = frozenset()
    # The promotion activities that priced the cart, by id.
    promotions: Mapping[uuid.UUID, promotion_api.PromotionActivityInfo] = field(
        default_factory=dict
    )


def _check(placement: Placement) -> None:
    lines = placement.lines
    if placement.order_type not in MACHINES:
        raise UserInputError(
            f"unknown order type {placement.order_type!r}",
            code="UNKNOWN_ORDER_TYPE",
            field=["input", "type"],
        )
    if not CHANNEL_PATTERN.match(placement.channel):
        raise UserInputError(
            "channel must be 1 to 32 of A-Z, 0-9 and _, starting with a letter",
            code="INVALID_CHANNEL",
            field=["input", "channel"],
        )
    if not lines:
        raise UserInputError(
            "an order needs at least one line", code="NO_LINES", field=["input", "lines"]
        )
    if len(lines) > MAX_LINES:
        raise UserInputError(
            f"at most {MAX_LINES} lines per order", code="TOO_MANY_LINES", field=["input", "lines"]
        )
    for index, line in enumerate(lines):
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise UserInputError(
                f"quantity must be between 1 and {MAX_QUANTITY}",
                code="INVALID_QUANTITY",
                field=["input", "lines", str(index), "quantity"],
            )


async def place_order(
    session: AsyncSession, tenant_id: uuid.UUID, placement: Placement
) -> tuple[OrderInfo, bool]:
    """Place an order; returns it and whether this was a replay of an earlier request.

    The steps, in order (database round trips in brackets): claim the idempotency key
    [1]; price the cart (``price``: what pricing reads, the pricing row); join the
    group buy and review; write the order, its sub-orders, lines, discounts, history,
    ``order.placed`` event, change notification, payment-timeout job and payment [1];
    reserve stock LAST [1], so the hot stock rows stay locked for that statement and
    the commit only.
    """
    _check(placement)
    order_id = new_id()
    batch = Batch()
    claimed = _claim_key_in(batch, tenant_id, placement, order_id)
    reads = _reads_in(batch, tenant_id, placement)
    row = await batch.fetch_row(session)
    claim = await claimed.settle(session, row)
    if claim.replayed:
        found = await repository.orders_by_ids(session, tenant_id, [claim.result_id], buyer=None)
        return found[0], True
    priced = await _price(session, tenant_id, placement, reads.of(row), order_id=order_id)
    now = datetime.now(UTC)
    await _join_group(session, tenant_id, order_id, placement, priced.allocations, now)
    member = (
        await member_api.review_member(session, tenant_id, placement.member_id)
        if placement.member_id is not None
        else None
    )
    review_reason = await _review(
        session, tenant_id, placement, member, priced.amounts, priced.settings, now
    )
    order = _new_order(order_id, placement, priced, review_reason, now, _member_subject(member))
    order = await _write(session, tenant_id, placement, priced, order, review_reason)
    await _reserve(session, tenant_id, order_id, placement, priced)
    if placement.prepaid:
        await _record_channel_payment(session, tenant_id, placement, priced, order)
    return order, False


def _claim_key_in(
    batch: Batch, tenant_id: uuid.UUID, placement: Placement, order_id: uuid.UUID
) -> idempotency.PendingClaim:
    request = {
        "buyer": placement.buyer,
        "store": placement.store_id,
        "type": placement.order_type,
        "channel": placement.channel,
        "lines": [[line.sku_id, line.quantity] for line in placement.lines],
        "member": placement.member_id,
        "coupons": list(placement.coupon_codes),
        "points": placement.points_to_redeem,
        **(
            {"group": [placement.group_activity_id, placement.group_id]}
            if placement.group_activity_id is not None
            else {}
        ),
    }
    return idempotency.claim_in(
        batch, tenant_id, "order.place", placement.idempotency_key, request, order_id
    )


def _new_order(
    order_id: uuid.UUID,
    placement: Placement,
    priced: Priced,
    review_reason: str | None,
    now: datetime,
    member_subject: str | None = None,
) -> OrderInfo:
    computed = priced.amounts
    is_presale = placement.order_type == "PRESALE"
    return OrderInfo(
        id=order_id,
        number=new_order_number(now),
        store_id=placement.store_id,
        buyer_subject=placement.buyer,
        status="PENDING_REVIEW" if review_reason else machine_for(placement.order_type).initial,
        total=Money(computed.payable_amount, priced.currency),
        placed_at=now,
        cancelled_at=None,
        cancel_reason=None,
        order_type=placement.order_type,
        channel=placement.channel,
        list_amount=computed.list_amount,
        discount_amount=computed.discount_amount,
        delivery_fee=computed.delivery_fee,
        deposit_amount=(
            amounts.deposit(computed.payable_amount, priced.settings.presale_deposit_percent)
            if is_presale
            else 0
        ),
        external_id=placement.external_id,
        status_changed_at=now,
        member_id=placement.member_id,
        member_subject=member_subject,
    )


def _rows(
    placement: Placement, priced: Priced, order_id: uuid.UUID
) -> tuple[list[SubOrderInfo], list[OrderLineInfo], list[LineDiscountInfo]]:
    """The order's sub-orders, lines (with the product snapshot) and line discounts."""

    def money(value: int) -> Money:
        return Money(value, priced.currency)

    subs = [
        SubOrderInfo(
            order_id=order_id,
            sub_no=s.sub_no,
            split_key=s.split_key,
            store_id=s.store_id,
            list_amount=money(s.list_amount),
            discount_amount=money(s.discount_amount),
            delivery_fee=money(s.delivery_fee),
            payable_amount=money(s.payable_amount),
            refunded_amount=money(0),
        )
        for s in priced.amounts.sub_orders
    ]
    skus = priced.skus
    lines = [
        OrderLineInfo(
            line_no=index + 1,
            sku_id=skus[line.sku_id].id,
            sku_code=skus[line.sku_id].code,
            sku_name=skus[line.sku_id].name,
            unit_price=money(unit),
            quantity=line.quantity,
            amount=money(computed.list_amount),
            sub_no=computed.sub_no,
            discount=money(computed.discount_amount),
            payable=money(computed.payable_amount),
            refunded=money(0),
        )
        for index, (line, unit, computed) in enumerate(
            zip(placement.lines, priced.unit_prices, priced.amounts.lines, strict=True)
        )
    ]
    discounts = [
        LineDiscountInfo(
            order_id=order_id,
            line_no=a.line_index + 1,
            source=a.source,
            source_id=a.source_id,
            label=a.label,
            amount=money(a.amount),
        )
        for a in priced.allocations
    ]
    return subs, lines, discounts


async def _write(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    placement: Placement,
    priced: Priced,
    order: OrderInfo,
    review_reason: str | None,
) -> OrderInfo:
    """Write the order and everything placed with it in ONE statement; the order
    number is random (ten digits a day), so on the rare collision nothing is written
    and the statement is sent again with another number."""
    subs, lines, discounts = _rows(placement, priced, order.id)
    for _ in range(NUMBER_ATTEMPTS):
        batch = Batch()
        placed = repository.add_placement(
            batch,
            tenant_id,
            order,
            subs,
            lines,
            discounts,
            actor=placement.buyer,
            reason=f"to review: {review_reason}" if review_reason else "",
        )
        event = emit_in(batch, tenant_id, _placed_event(order, lines), when=placed)
        if machine_for(order.order_type).find(order.status, "TIMEOUT") is not None:
            timeout = timedelta(seconds=priced.settings.payment_timeout_seconds)
            schedule_in(
                batch,
                tenant_id,
                transitions.JOB_PAYMENT_TIMEOUT,
                str(order.id),
                order.placed_at + timeout,
                {"order_id": str(order.id)},
                when=placed,
            )
        if not placement.prepaid:
            _open_payment(batch, tenant_id, placement, priced, order, lines, when=placed)
        change = repository.change_payload(
            tenant_id, order, event="PLACE", from_status=None, at=order.placed_at, seq=1
        )
        written = await batch.run(session, repository.announce_placed(batch, change))
        if written:
            await run_handlers(session, tenant_id, OrderPlaced.topic, event)
            return order
        order = replace(order, number=new_order_number(order.placed_at))
    raise RuntimeError("could not draw a free order number")


def _placed_event(order: OrderInfo, lines: Sequence[OrderLineInfo]) -> OrderPlaced:
    return OrderPlaced(
        order_id=order.id,
        number=order.number,
        store_id=order.store_id,
        buyer_subject=order.buyer_subject,
        currency=order.currency,
        total_amount=order.total.amount,
        lines=[
            PlacedLine(
                sku_id=line.sku_id,
                quantity=line.quantity,
                unit_price_amount=line.unit_price.amount,
                line_amount=line.amount.amount,
            )
            for line in lines
        ],
        order_type=order.order_type,
        channel=order.channel,
        status=order.status,
    )


def _line_amounts(order: OrderInfo, lines: Sequence[OrderLineInfo]) -> dict[uuid.UUID, int]:
    """What each line pays (and the delivery fee), so refunds are capped per line."""
    line_amounts = {
        order_line_id(order.id, line.line_no): line.payable.amount
        for line in lines
        if line.payable is not None and line.payable.amount > 0
    }
    if order.delivery_fee:
        line_amounts[delivery_fee_id(order.id)] = order.delivery_fee
    return line_amounts


def _open_payment(
    batch: Batch,
    tenant_id: uuid.UUID,
    placement: Placement,
    priced: Priced,
    order: OrderInfo,
    lines: Sequence[OrderLineInfo],
    *,
    when: str,
) -> None:
    """Open the order's payment (支付单) with what each line pays. A presale order's
    payment has two stages: its deposit, then the balance from the end of the presale
    activity that priced it (at once without one)."""
    if order.total.amount <= 0:
        return
    deposit: int | None = None
    balance_from: datetime | None = None
    if order.order_type == "PRESALE":
        if order.deposit_amount <= 0:
            raise UserInputError(
                "a presale order must be at least 0.02 to split into deposit and balance",
                code="PRESALE_TOO_SMALL",
                field=["input", "lines"],
            )
        deposit = order.deposit_amount
        balance_from = _presale_balance_from(priced)
    payment_api.open_payment_in(
        batch,
        tenant_id,
        order_id=order.id,
        amount=order.total.amount,
        currency=order.currency,
        store_id=order.store_id,
        member_id=placement.member_id,
        line_amounts=_line_amounts(order, lines),
        deposit_amount=deposit,
        balance_from=balance_from,
        when=when,
    )


async def _record_channel_payment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    placement: Placement,
    priced: Priced,
    order: OrderInfo,
) -> None:
    """The channel collected the money: recorded as a CHANNEL tender, so after-sale
    refunds go back through it and are reported for the channel to settle. After the
    stock is reserved: the capture deducts the reservation."""
    if order.total.amount <= 0:
        return
    _subs, lines, _discounts = _rows(placement, priced, order.id)
    await payment_api.record_channel_payment(
        session,
        tenant_id,
        order_id=order.id,
        amount=order.total.amount,
        currency=order.currency,
        channel=order.channel,
        reference=placement.external_id or str(order.id),
        store_id=order.store_id,
        line_amounts=_line_amounts(order, lines),
    )


async def _join_group(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    placement: Placement,
    allocations: Sequence[amounts.Allocation],
    now: datetime,
) -> None:
    """Open or join the group (拼团); the order must be STANDARD and priced by the
    group-buy activity (its goods in scope, the group price below the price)."""
    activity_id = placement.group_activity_id
    if activity_id is None:
        return
    if placement.order_type != "STANDARD":
        raise UserInputError(
            "group buys are STANDARD orders", code="GROUP_BUY_NOT_FOR_TYPE", field=["input", "type"]
        )
    # Unknown or stopped activities, full or closed groups are refused first; the
    # transaction rolls back whatever the join wrote when an error follows.
    await groups.join(
        session,
        tenant_id,
        order_id=order_id,
        activity_id=activity_id,
        group_id=placement.group_id,
        now=now,
    )
    if not any(a.source_id == activity_id for a in allocations):
        raise UserInputError(
            "the group-buy activity does not price these goods",
            code="GROUP_BUY_NOT_APPLICABLE",
            field=["input", "groupBuy", "activityId"],
        )


def _presale_balance_from(priced: Priced) -> datetime | None:
    """When the balance opens: the latest end of the presale activities that priced the
    order (预售期 ends, 尾款 starts); ``None`` (at once) when none did."""
    ends = [
        a.ends_at
        for a in priced.promotions.values()
        if a.kind is promotion_api.PromotionKind.PRESALE_DEPOSIT
    ]
    return max(ends) if ends else None


async def price(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    placement: Placement,
    *,
    order_id: uuid.UUID | None,
) -> Priced:
    """Price the cart: channel/store prices (product), discounts allocated per line by
    source (promotion), sub-orders by the split rule, delivery fee. With ``order_id``
    the promotion engine also consumes coupons, budgets and points for that order;
    without, nothing is written (``previewOrder``). Both run the same code, so a
    preview shows exactly what placing charges."""
    _check(placement)
    batch = Batch()
    reads = _reads_in(batch, tenant_id, placement)
    return await _price(
        session, tenant_id, placement, reads.of(await batch.fetch_row(session)), order_id=order_id
    )


@dataclass(frozen=True, slots=True)
class _Read:
    """What pricing a cart reads, from four centers."""

    store_found: bool
    catalog: product_api.CartCatalog
    settings: OrderSettings
    # Location → SKU → available, for the split rule; None for types served in store.
    available: dict[uuid.UUID, dict[uuid.UUID, int]] | None


@dataclass(frozen=True, slots=True)
class _Reads:
    """``_Read`` as columns of a batch: sent in ONE statement (with the key's claim)."""

    store_found: Column[bool]
    catalog: Column[product_api.CartCatalog]
    settings: Column[OrderSettings]
    available: Column[dict[uuid.UUID, dict[uuid.UUID, int]]] | None

    def of(self, row: Mapping[str, Any]) -> _Read:
        return _Read(
            store_found=self.store_found.of(row),
            catalog=self.catalog.of(row),
            settings=self.settings.of(row),
            available=None if self.available is None else self.available.of(row),
        )


def _reads_in(batch: Batch, tenant_id: uuid.UUID, placement: Placement) -> _Reads:
    sku_ids = list(dict.fromkeys(line.sku_id for line in placement.lines))
    return _Reads(
        store_found=store_api.store_exists_in(batch, tenant_id, placement.store_id),
        catalog=product_api.cart_catalog_in(
            batch, tenant_id, sku_ids, channel=placement.channel, store_id=placement.store_id
        ),
        settings=repository.settings_in(batch, tenant_id),
        available=(
            stock_api.available_at_in(batch, tenant_id, sku_ids)
            if placement.order_type in SHIPPED_TYPES
            else None
        ),
    )


async def _price(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    placement: Placement,
    read: _Read,
    *,
    order_id: uuid.UUID | None,
) -> Priced:
    """``price`` for a placement already checked, from what it read."""
    store_id = placement.store_id
    if not read.store_found:
        raise UserInputError("store not found", code="STORE_NOT_FOUND", field=["input", "storeId"])
    # One builder for priceCart, previewOrder and placeOrder (promotion.carts): channel
    # and store prices, categories for category-scoped activities; here from the SKUs
    # read in the placement's batch.
    cart = promotion_api.cart_request(
        promotion_api.Cart(
            store_id=store_id,
            channel=placement.channel,
            member_id=placement.member_id,
            coupon_codes=placement.coupon_codes,
            points_to_redeem=placement.points_to_redeem,
            at=datetime.now(UTC),
            order_type=placement.order_type,
            group_buy_activity_id=placement.group_activity_id,
            lines=tuple(
                promotion_api.CartLine(sku_id=line.sku_id, quantity=line.quantity)
                for line in placement.lines
            ),
        ),
        read.catalog,
    )
    request, skus, currency = cart.request, cart.skus, cart.request.currency
    unit = {line.sku_id: line.unit_price for line in request.lines}
    quote = (
        await promotion_api.commit_quote(session, tenant_id, request, order_id)
        if order_id is not None
        else await promotion_api.quote(session, tenant_id, request)
    )
    allocations = tuple(
        amounts.Allocation(
            line_index=a.line_index,
            source=str(a.source),
            source_id=a.source_id,
            label=a.label[:200],
            amount=a.amount,
        )
        for a in quote.allocations
    )
    settings = read.settings
    delivery = (
        amounts.DeliveryRule(fee=settings.delivery_fee, free_from=settings.free_delivery_from)
        if placement.order_type in SHIPPED_TYPES and settings.delivery_fee
        else None
    )
    promotions = await _promotions(session, tenant_id, allocations)
    flash_lines = frozenset(
        a.line_index
        for a in allocations
        if a.source_id in promotions
        and promotions[a.source_id].kind is promotion_api.PromotionKind.FLASH_SALE
    )
    source = await _fulfilling_locations(
        session,
        tenant_id,
        placement,
        read.available,
        {placement.lines[i].sku_id for i in flash_lines},
    )
    drafts = [
        amounts.DraftLine(
            unit_price=unit[line.sku_id],
            quantity=line.quantity,
            split_key=source[line.sku_id][0],
            store_id=source[line.sku_id][1],
        )
        for line in placement.lines
    ]
    computed = amounts.compute(drafts, allocations, delivery)
    if computed.payable_amount - computed.delivery_fee != quote.payable_total:
        raise RuntimeError("order amounts disagree with the pricing engine's quote")
    return Priced(
        currency=currency,
        skus=skus,
        unit_prices=tuple(d.unit_price for d in drafts),
        allocations=allocations,
        amounts=computed,
        explanation=quote.explanation,
        settings=settings,
        drafts=tuple(drafts),
        flash_lines=flash_lines,
        promotions=promotions,
    )


async def _promotions(
    session: AsyncSession, tenant_id: uuid.UUID, allocations: Sequence[amounts.Allocation]
) -> dict[uuid.UUID, promotion_api.PromotionActivityInfo]:
    """The activities that priced the cart (read once: flash-sale lines and the presale
    balance both need them); none read when no activity applied."""
    ids = {
        a.source_id
        for a in allocations
        if a.source == promotion_api.AllocationSource.PROMOTION and a.source_id is not None
    }
    if not ids:
        return {}
    return await promotion_api.get_activities(session, tenant_id, list(ids))


async def _fulfilling_locations(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    placement: Placement,
    available: Mapping[uuid.UUID, Mapping[uuid.UUID, int]] | None,
    pinned: set[uuid.UUID] | frozenset[uuid.UUID] = frozenset(),
) -> dict[uuid.UUID, tuple[str, uuid.UUID]]:
    """The split rule (拆单): each SKU ships from the ordering store when it has the whole
    quantity, else from the active location (warehouse or another store) of best
    priority that has it; lines from one location form one sub-order. Restaurant and
    virtual orders are served by the store itself, and ``pinned`` SKUs (flash-sale
    lines) by the ordering store. Returns SKU → (split key, location).
    """
    store_id = placement.store_id
    wanted: dict[uuid.UUID, int] = {}
    for line in placement.lines:
        wanted[line.sku_id] = wanted.get(line.sku_id, 0) + line.quantity
    at_store = {sku: (f"store:{store_id}", store_id) for sku in wanted}
    if placement.order_type not in SHIPPED_TYPES or available is None:
        return at_store
    short = [
        sku
        for sku, qty in wanted.items()
        if sku not in pinned and available.get(store_id, {}).get(sku, 0) < qty
    ]
    if not short:
        return at_store
    others = [loc for loc in available if loc != store_id]
    locations = await stock_api.get_locations(session, tenant_id, others)
    ranked = sorted(
        (loc for loc in locations.values() if loc.active),
        key=lambda loc: (loc.priority, loc.code),
    )
    chosen = dict(at_store)
    for sku in short:
        for loc in ranked:
            if available[loc.id].get(sku, 0) >= wanted[sku]:
                chosen[sku] = (f"{str(loc.kind).lower()}:{loc.id}", loc.id)
                break
    return chosen


async def _reserve(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    placement: Placement,
    priced: Priced,
) -> None:
    """Reserve each line at its sub-order's location; errors name the caller's line.
    Flash-sale lines claim from the sale's buckets (no oversell under a rush); every
    other line, whatever its location, in ONE statement that locks in SKU order."""
    drafts = priced.drafts
    for index in sorted(priced.flash_lines):
        try:
            await stock_api.flash_reserve(
                session,
                tenant_id,
                location_id=drafts[index].store_id,
                sku_id=placement.lines[index].sku_id,
                order_id=order_id,
                quantity=placement.lines[index].quantity,
            )
        except UserInputError as error:
            error.field = ["input", "lines", str(index), "quantity"]
            raise
    indexes = [index for index in range(len(drafts)) if index not in priced.flash_lines]
    if not indexes:
        return
    try:
        await stock_api.reserve(
            session,
            tenant_id,
            placement.store_id,
            order_id,
            [
                stock_api.ReserveLine(
                    sku_id=placement.lines[i].sku_id,
                    quantity=placement.lines[i].quantity,
                    product_id=priced.skus[placement.lines[i].sku_id].product_id,
                    location_id=drafts[i].store_id,
                )
                for i in indexes
            ],
        )
    except UserInputError as error:
        field = error.field or []
        if len(field) > 2 and field[:2] == ["input", "lines"] and field[2].isdigit():
            error.field = ["input", "lines", str(indexes[int(field[2])]), *field[3:]]
        raise


def _member_subject(member: member_api.MemberReview | None) -> str | None:
    """Who reads an order placed for a membership besides its placer: the member's app
    account, as the subject its token carries (decision 0113)."""
    if member is None or member.app_account is None:
        return None
    return f"user:{member.app_account}"


async def _review(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    placement: Placement,
    member: member_api.MemberReview | None,
    computed: amounts.OrderAmounts,
    settings: OrderSettings,
    now: datetime,
) -> str | None:
    """Why the order must wait for manual review (审核), or ``None``.

    Rules: a blacklisted member; more orders by the buyer within an hour than the
    tenant allows; a discount above the tenant's share of the list amount (promotion
    abuse). Orders imported from a channel were reviewed there and skip this.
    """
    if placement.external_id is not None:
        return None
    reasons: list[str] = []
    if member is not None and member.blacklisted:
        reasons.append(f"blacklisted member ({member.reason or 'no reason given'})")
    limit = settings.review_orders_per_hour
    if limit is not None:
        recent = await repository.count_orders_since(
            session, tenant_id, placement.buyer, now - timedelta(hours=1)
        )
        if recent >= limit:
            reasons.append(f"{recent + 1} orders within an hour (limit {limit})")
    share = settings.review_discount_percent
    if share is not None and computed.discount_amount * 100 > computed.list_amount * share:
        reasons.append(f"discount above {share}% of the list amount")
    return "; ".join(reasons)[:180] or None


async def import_channel_order(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    channel: str,
    external_id: str,
    store_id: uuid.UUID,
    buyer: str,
    order_type: str,
    lines: Sequence[LineRequest],
    paid: bool,
) -> tuple[OrderInfo, bool]:
    """Create the order a channel (takeout platform, agency) sold; idempotent by
    ``(channel, external_id)``. ``paid``: the channel collected the payment."""
    if not external_id or len(external_id) > 64 or not external_id.isprintable():
        raise UserInputError(
            "externalId must be 1 to 64 printable characters",
            code="INVALID_EXTERNAL_ID",
            field=["input", "externalId"],
        )
    placement = Placement(
        buyer=buyer,
        idempotency_key=f"channel:{channel}:{external_id}",
        store_id=store_id,
        lines=lines,
        order_type=order_type,
        channel=channel,
        external_id=external_id,
        prepaid=paid,
    )
    order, replayed = await place_order(session, tenant_id, placement)
    if replayed or not paid:
        return order, replayed
    result = await transitions.apply_event(
        session,
        tenant_id,
        order.id,
        "PAY",
        actor=f"sa:channel-{channel.lower()}",
        actor_kind=Actor.SYSTEM,
        reason=f"paid on {channel}",
        idempotency_key=f"channel-paid:{external_id}",
        amount=order.total.amount - order.paid_amount,
    )
    return result.order, False


async def cancel_order(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    *,
    actor: str,
    own_only: bool,
    reason: str,
) -> OrderInfo:
    """The ``CANCEL`` event by the buyer (``own_only``) or staff."""
    result: TransitionResult = await transitions.apply_event(
        session,
        tenant_id,
        order_id,
        "CANCEL",
        actor=actor,
        actor_kind=Actor.BUYER if own_only else Actor.STAFF,
        reason=reason,
        buyer=actor if own_only else None,
    )
    return result.order
