"""Events the order center publishes (topic ``order.*``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class PlacedLine:
    sku_id: uuid.UUID
    quantity: int
    unit_price_amount: int
    line_amount: int


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    topic: ClassVar[str] = "order.placed"
    order_id: uuid.UUID
    number: str
    store_id: uuid.UUID
    buyer_subject: str
    currency: str
    total_amount: int
    lines: list[PlacedLine]
    order_type: str = "STANDARD"
    channel: str = "POS"
    status: str = "PLACED"

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.order_id


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    topic: ClassVar[str] = "order.cancelled"
    order_id: uuid.UUID
    number: str
    reason: str
    cancelled_by: str

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.order_id


@dataclass(frozen=True, slots=True)
class OrderStatusChanged:
    """Every transition of every order type (``order.placed`` covers the first state)."""

    topic: ClassVar[str] = "order.status_changed"
    order_id: uuid.UUID
    number: str
    store_id: uuid.UUID
    order_type: str
    event: str
    from_status: str
    to_status: str
    actor: str
    reason: str

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.order_id


@dataclass(frozen=True, slots=True)
class OrderRefundChanged:
    """An after-sale request was opened or moved (``event`` REQUEST, APPROVE, …)."""

    topic: ClassVar[str] = "order.refund_changed"
    order_id: uuid.UUID
    refund_id: uuid.UUID
    kind: str
    event: str
    from_status: str | None
    to_status: str
    amount: int
    actor: str

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.order_id
