"""Frozen values the order center hands to other centers (re-exported by ``api``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from kernel.money import Money


def order_line_id(order_id: uuid.UUID, line_no: int) -> uuid.UUID:
    """A line's id for other centers (payment caps refunds per line by it): derived
    from the order and the line number, so it needs no column and never changes."""
    return uuid.uuid5(order_id, f"line:{line_no}")


def delivery_fee_id(order_id: uuid.UUID) -> uuid.UUID:
    """The id under which the order's delivery fee is paid and refunded like a line."""
    return uuid.uuid5(order_id, "delivery-fee")


@dataclass(frozen=True, slots=True)
class OrderLineInfo:
    line_no: int
    sku_id: uuid.UUID
    sku_code: str
    sku_name: str
    unit_price: Money
    quantity: int
    amount: Money  # list amount: unit price × quantity
    sub_no: int = 1
    discount: Money | None = None  # None only while being built; stored lines always carry it
    payable: Money | None = None
    refunded: Money | None = None


@dataclass(frozen=True, slots=True)
class OrderInfo:
    id: uuid.UUID
    number: str
    store_id: uuid.UUID
    buyer_subject: str
    status: str
    total: Money  # payable: list − discounts + delivery fee
    placed_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None
    order_type: str = "STANDARD"
    channel: str = "POS"
    list_amount: int = 0
    discount_amount: int = 0
    delivery_fee: int = 0
    deposit_amount: int = 0
    paid_amount: int = 0
    refunded_amount: int = 0
    pickup_code: str | None = None
    external_id: str | None = None
    status_changed_at: datetime | None = None
    member_id: uuid.UUID | None = None
    member_subject: str | None = None  # the member's app account, who reads it too

    @property
    def currency(self) -> str:
        return self.total.currency


@dataclass(frozen=True, slots=True)
class SubOrderInfo:
    order_id: uuid.UUID
    sub_no: int
    split_key: str
    store_id: uuid.UUID
    list_amount: Money
    discount_amount: Money
    delivery_fee: Money
    payable_amount: Money
    refunded_amount: Money


@dataclass(frozen=True, slots=True)
class LineDiscountInfo:
    order_id: uuid.UUID
    line_no: int
    source: str  # PROMOTION, COUPON, MEMBER, POINTS
    source_id: uuid.UUID | None
    label: str
    amount: Money


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    order_id: uuid.UUID
    seq: int
    at: datetime
    actor: str
    event: str
    from_status: str | None
    to_status: str
    reason: str


@dataclass(frozen=True, slots=True)
class TransitionResult:
    order: OrderInfo
    replayed: bool  # the idempotency key had already applied this event


@dataclass(frozen=True, slots=True)
class OrderSettings:
    payment_timeout_seconds: int = 900
    after_sale_days: int = 7
    delivery_fee: int = 0
    free_delivery_from: int | None = None
    presale_deposit_percent: int = 20
    presale_balance_hours: int = 72  # the balance is due this long after it opens
    review_orders_per_hour: int | None = None  # more orders per buyer per hour: review
    review_discount_percent: int | None = None  # a bigger discount share: review


@dataclass(frozen=True, slots=True)
class LineRequest:
    sku_id: uuid.UUID
    quantity: int


@dataclass(frozen=True, slots=True)
class RefundLineInfo:
    line_no: int
    quantity: int
    amount: int
    failed_amount: int = 0  # refused by the provider, waiting for a retry


@dataclass(frozen=True, slots=True)
class RefundInfo:
    """An after-sale request (售后单) and where it stands."""

    id: uuid.UUID
    order_id: uuid.UUID
    kind: str  # REFUND_ONLY, RETURN_AND_REFUND, OUT_OF_STOCK
    status: str
    amount: Money
    reason: str
    note: str
    requested_by: str
    requested_at: datetime
    updated_at: datetime
    lines: tuple[RefundLineInfo, ...]


@dataclass(frozen=True, slots=True)
class RefundLineRequest:
    line_no: int
    quantity: int  # units concerned (returned units are restocked after inspection)
    amount: int | None = None  # None: all that is left to refund on the line
