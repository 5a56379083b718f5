"""Events the stock center publishes (topic ``stock.*``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class StockAdjusted:
    topic: ClassVar[str] = "stock.adjusted"
    store_id: uuid.UUID
    sku_id: uuid.UUID
    delta: int
    on_hand: int
    reason: str
    movement_id: uuid.UUID

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.sku_id


@dataclass(frozen=True, slots=True)
class StockLow:
    """Available stock of a SKU at a location fell to or below its threshold (低库存预警).

    Emitted once per crossing: when a change takes available from above the threshold
    to at or below it, not again while it stays low.
    """

    topic: ClassVar[str] = "stock.low"
    location_id: uuid.UUID
    sku_id: uuid.UUID
    available: int
    threshold: int

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.sku_id
