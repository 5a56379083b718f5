"""The product center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import repository, service
from centers.product.dto import NewSku, ProductInfo, SkuInfo

__all__ = [
    "NewSku",
    "ProductInfo",
    "SkuInfo",
    "create_product",
    "get_products",
    "get_skus",
    "sku_by_code",
]


async def create_product(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    description: str = "",
    skus: Sequence[NewSku],
) -> tuple[ProductInfo, list[SkuInfo]]:
    """Create a product with its SKUs priced in the tenant's currency.

    Raises ``UserInputError``: ``NO_SKUS``, ``INVALID_SKU_CODE``, ``SKU_CODE_TAKEN``,
    ``INVALID_PRICE``, ``INVALID_NAME``.
    """
    return await service.create_product(
        session, tenant_id, name=name, description=description, skus=skus
    )


async def get_skus(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, SkuInfo]:
    """The tenant's SKUs among ``ids`` with their current price; others are absent."""
    return {s.id: s for s in await repository.skus_by_ids(session, tenant_id, ids)}


async def get_products(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ProductInfo]:
    """The tenant's products among ``ids``; others (or other tenants') are absent."""
    return {p.id: p for p in await repository.products_by_ids(session, tenant_id, ids)}


async def sku_by_code(session: AsyncSession, tenant_id: uuid.UUID, code: str) -> SkuInfo | None:
    """The tenant's SKU with this code, if any."""
    return await repository.sku_by_code(session, tenant_id, code)
