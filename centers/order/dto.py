"""Frozen values the order center hands to other centers (re-exported by ``api``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from kernel.money import Money


@dataclass(frozen=True, slots=True)
class OrderLineInfo:
    line_no: int
    sku_id: uuid.UUID
    sku_code: str
    sku_name: str
    unit_price: Money
    quantity: int
    amount: Money


@dataclass(frozen=True, slots=True)
class OrderInfo:
    id: uuid.UUID
    number: str
    store_id: uuid.UUID
    buyer_subject: str
    status: str
    total: Money
    placed_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None


@dataclass(frozen=True, slots=True)
class LineRequest:
    sku_id: uuid.UUID
    quantity: int
