"""Ports plugins (and other centers, through ``api``) implement for the product center."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product.dto import SkuInfo
from kernel.money import Money


class CatalogSource(Protocol):
    """The tenant's ERP as the source of products and prices (inbound sync)."""

    async def changed_skus(self, since_version: int) -> Sequence[tuple[int, SkuInfo]]:
        """SKUs changed after ``since_version``, each with its source version, oldest first."""
        ...


class MemberPricing(Protocol):
    """Member prices (会员价): filled by the member center through
    ``product.api.set_member_pricing`` so that quotes carry a member's price."""

    async def member_prices(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        member_id: uuid.UUID,
        prices: Mapping[uuid.UUID, Money],
    ) -> Mapping[uuid.UUID, Money]:
        """Given each SKU's price in this channel and store, the member's price of those
        SKUs that have one (e.g. a level's 9.8 折); SKUs left out have none."""
        ...
