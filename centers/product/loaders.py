"""DataLoaders of the product center, one per request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.product import repository
from centers.product.dto import ProductInfo, SkuInfo
from kernel.context import RequestContext


def products(context: RequestContext) -> DataLoader[uuid.UUID, ProductInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[ProductInfo | None]:
        found = {
            p.id: p
            for p in await repository.products_by_ids(context.session, context.tenant_id, ids)
        }
        return [found.get(i) for i in ids]

    return context.loader("product.products", lambda: DataLoader(load_fn=load))


def skus(context: RequestContext) -> DataLoader[uuid.UUID, SkuInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[SkuInfo | None]:
        found = {
            s.id: s for s in await repository.skus_by_ids(context.session, context.tenant_id, ids)
        }
        return [found.get(i) for i in ids]

    return context.loader("product.skus", lambda: DataLoader(load_fn=load))


def skus_of_product(context: RequestContext) -> DataLoader[uuid.UUID, list[SkuInfo]]:
    async def load(product_ids: Sequence[uuid.UUID]) -> list[list[SkuInfo]]:
        grouped: dict[uuid.UUID, list[SkuInfo]] = {i: [] for i in product_ids}
        for found in await repository.skus_by_products(
            context.session, context.tenant_id, product_ids
        ):
            grouped[found.product_id].append(found)
        return [grouped[i] for i in product_ids]

    return context.loader("product.skus_of_product", lambda: DataLoader(load_fn=load))
