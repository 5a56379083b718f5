"""Amounts at every level of an order, as pure functions (no I/O, property-tested).

Line: list = unit price × quantity; discount = its allocations (by source);
payable = list − discount. Sub-order: the sums of its lines, plus its delivery fee.
Order: the sums of its sub-orders. Parts always sum to the whole, to the 分.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from kernel.money import allocate


@dataclass(frozen=True, slots=True)
class DraftLine:
    unit_price: int
    quantity: int
    split_key: str  # lines with the same key form one sub-order (e.g. ``store:<id>``)
    store_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Allocation:
    """A discount of one source on one line (what the pricing engine hands back)."""

    line_index: int
    source: str  # PROMOTION, COUPON, MEMBER, POINTS
    source_id: uuid.UUID | None
    label: str
    amount: int


@dataclass(frozen=True, slots=True)
class DeliveryRule:
    fee: int  # per shipped sub-order
    free_from: int | None  # a sub-order payable at least this ships free


@dataclass(frozen=True, slots=True)
class LineAmounts:
    sub_no: int
    list_amount: int
    discount_amount: int
    payable_amount: int


@dataclass(frozen=True, slots=True)
class SubOrderAmounts:
    sub_no: int
    split_key: str
    store_id: uuid.UUID
    line_indexes: tuple[int, ...]
    list_amount: int
    discount_amount: int
    delivery_fee: int
    payable_amount: int


@dataclass(frozen=True, slots=True)
class OrderAmounts:
    lines: tuple[LineAmounts, ...]
    sub_orders: tuple[SubOrderAmounts, ...]
    list_amount: int
    discount_amount: int
    delivery_fee: int
    payable_amount: int


def compute(
    lines: Sequence[DraftLine],
    allocations: Sequence[Allocation],
    delivery: DeliveryRule | None,
) -> OrderAmounts:
    """Split ``lines`` into sub-orders by ``split_key`` (first appearance order) and sum up.

    Raises ``ValueError`` when an allocation names no line, is not positive, or would
    make a line's payable negative: the pricing engine must never hand back such a quote.
    """
    discounts = [0] * len(lines)
    for allocation in allocations:
        if not 0 <= allocation.line_index < len(lines) or allocation.amount <= 0:
            raise ValueError(f"bad allocation {allocation}")
        discounts[allocation.line_index] += allocation.amount
    keys: list[str] = []
    for line in lines:
        if line.split_key not in keys:
            keys.append(line.split_key)
    line_amounts: list[LineAmounts] = []
    for index, line in enumerate(lines):
        listed = line.unit_price * line.quantity
        if discounts[index] > listed:
            raise ValueError(f"line {index} discounted below zero")
        line_amounts.append(
            LineAmounts(
                sub_no=keys.index(line.split_key) + 1,
                list_amount=listed,
                discount_amount=discounts[index],
                payable_amount=listed - discounts[index],
            )
        )
    subs: list[SubOrderAmounts] = []
    for sub_no, key in enumerate(keys, start=1):
        indexes = tuple(i for i, a in enumerate(line_amounts) if a.sub_no == sub_no)
        listed = sum(line_amounts[i].list_amount for i in indexes)
        discount = sum(line_amounts[i].discount_amount for i in indexes)
        goods = listed - discount
        fee = 0
        if delivery is not None and not (
            delivery.free_from is not None and goods >= delivery.free_from
        ):
            fee = delivery.fee
        subs.append(
            SubOrderAmounts(
                sub_no=sub_no,
                split_key=key,
                store_id=lines[indexes[0]].store_id,
                line_indexes=indexes,
                list_amount=listed,
                discount_amount=discount,
                delivery_fee=fee,
                payable_amount=goods + fee,
            )
        )
    return OrderAmounts(
        lines=tuple(line_amounts),
        sub_orders=tuple(subs),
        list_amount=sum(s.list_amount for s in subs),
        discount_amount=sum(s.discount_amount for s in subs),
        delivery_fee=sum(s.delivery_fee for s in subs),
        payable_amount=sum(s.payable_amount for s in subs),
    )


def deposit(payable: int, percent: int) -> int:
    """The presale deposit (定金): ``percent`` of the payable, rounded down, and at least
    1 and at most ``payable - 1`` so that both stages pay something (0 when the payable
    is below 2 and cannot be split)."""
    if payable < 2:
        return 0
    return min(max(1, payable * percent // 100), payable - 1)


def allocate_refund(amount: int, refundable: Sequence[int]) -> list[int]:
    """Spread a refund of ``amount`` over lines in proportion to what each can still refund.

    Largest remainder, capped per line, so no line is refunded more than it was paid and
    the parts sum to ``amount``. Raises ``ValueError`` when ``amount`` exceeds the total.
    """
    total = sum(refundable)
    if amount < 0 or amount > total:
        raise ValueError("refund exceeds what is refundable")
    if amount == 0:
        return [0] * len(refundable)
    return allocate(amount, list(refundable))
