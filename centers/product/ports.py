"""Ports plugins implement for the product center."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from centers.product.dto import SkuInfo


class CatalogSource(Protocol):
    """The tenant's ERP as the source of products and prices (inbound sync)."""

    async def changed_skus(self, since_version: int) -> Sequence[tuple[int, SkuInfo]]:
        """SKUs changed after ``since_version``, each with its source version, oldest first."""
        ...
