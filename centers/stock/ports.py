"""Ports plugins implement for the stock center."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol


class StockSource(Protocol):
    """The tenant's ERP, source of truth for on-hand counts (库存同步)."""

    async def on_hand_counts(
        self, store_code: str, since_version: int
    ) -> Sequence[tuple[int, uuid.UUID, int]]:
        """``(source_version, sku_id, on_hand)`` changed after ``since_version``, oldest first.

        Applying them must be idempotent and ordered: an older version never
        overwrites a newer count.
        """
        ...
