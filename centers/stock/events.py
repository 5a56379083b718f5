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
