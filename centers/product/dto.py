"""Frozen values the product center hands to other centers (re-exported by ``api``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from kernel.money import Money


@dataclass(frozen=True, slots=True)
class ProductInfo:
    id: uuid.UUID
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class SkuInfo:
    id: uuid.UUID
    product_id: uuid.UUID
    code: str
    name: str
    price: Money


@dataclass(frozen=True, slots=True)
class NewSku:
    code: str
    name: str
    price_amount: int
