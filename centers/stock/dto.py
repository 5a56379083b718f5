"""Frozen values the stock center hands to other centers (re-exported by ``api``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class LevelInfo:
    """Stock of one SKU at one location (``store_id`` is the location: a store or a
    warehouse)."""

    store_id: uuid.UUID
    sku_id: uuid.UUID
    on_hand: int
    reserved: int
    low_threshold: int | None = None

    @property
    def location_id(self) -> uuid.UUID:
        return self.store_id

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True)
class ReserveLine:
    sku_id: uuid.UUID
    quantity: int
    # The SKU's product, so its deduction-strategy override applies without a lookup.
    product_id: uuid.UUID | None = None
    # Where to reserve it; ``None``: the location the call names.
    location_id: uuid.UUID | None = None


class DeductionStrategy(StrEnum):
    """When an order takes stock off (减库存时机)."""

    AT_ORDER = "AT_ORDER"  # reserve at placement; unpaid orders time out and release
    AT_PAYMENT = "AT_PAYMENT"  # check at placement, deduct at payment after a re-check


class LocationKind(StrEnum):
    STORE = "STORE"
    WAREHOUSE = "WAREHOUSE"


@dataclass(frozen=True, slots=True)
class LocationInfo:
    """A place holding stock; a store's location has the store's id."""

    id: uuid.UUID
    kind: LocationKind
    code: str
    name: str
    priority: int  # lower is preferred by dispatch
    latitude_e6: int | None  # micro-degrees
    longitude_e6: int | None
    active: bool


@dataclass(frozen=True, slots=True)
class StockSettings:
    deduction_strategy: DeductionStrategy
    reservation_ttl_seconds: int


@dataclass(frozen=True, slots=True)
class MovementInfo:
    """One ledger row (库存流水): what changed a level, why and on whose behalf."""

    id: uuid.UUID
    location_id: uuid.UUID
    sku_id: uuid.UUID
    on_hand_delta: int
    reserved_delta: int
    reason: str
    source_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SyncResult:
    """Outcome of one ERP count: ``applied`` is False for a stale or repeated version.

    ``shortfall`` is how many reserved units the ERP count does not cover (on hand is
    kept at ``reserved`` then, and the shortfall reported for someone to resolve).
    """

    applied: bool
    level: LevelInfo
    source_version: int | None
    shortfall: int


@dataclass(frozen=True, slots=True)
class FlashClaim:
    """Units of a flash sale held for an order, from one bucket."""

    order_id: uuid.UUID
    sku_id: uuid.UUID
    quantity: int
    bucket: int
