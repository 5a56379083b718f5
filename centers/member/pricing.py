"""The member center's member prices (会员价) for the product center's quotes.

Registered with ``product.api.set_member_pricing`` when the member subgraph is loaded,
so ``product.api.quote_prices(member_id=…)`` carries the same member price checkout
gives (the promotion engine applies the member benefit from the same level rules).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from centers.member import repository
from kernel.money import Money

BASIS_POINTS = 10_000


class LevelPricing:
    """``product.ports.MemberPricing`` by the member's level: the level's member price
    of a SKU if it has one, then the level's member discount on it, rounded as checkout
    rounds a one-unit line (the discount rounded down). Only prices below the given
    price are returned; a guest, an unknown member or no level benefit gives none."""

    async def member_prices(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        member_id: uuid.UUID,
        prices: Mapping[uuid.UUID, Money],
    ) -> Mapping[uuid.UUID, Money]:
        found = await repository.pricing_profile(session, tenant_id, member_id, list(prices))
        if found is None or found.level_id is None:
            return {}
        out: dict[uuid.UUID, Money] = {}
        for sku_id, price in prices.items():
            unit = min(price.amount, found.member_prices.get(sku_id, price.amount))
            unit -= unit * found.discount_bp // BASIS_POINTS
            if unit < price.amount:
                out[sku_id] = Money(unit, price.currency)
        return out
