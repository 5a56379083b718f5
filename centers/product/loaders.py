"""DataLoaders of the product center, one per request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from centers.product import repository
from centers.product.dto import CategoryInfo, ListingInfo, ProductInfo, SkuInfo, SkuPriceInfo
from kernel.context import RequestContext
from kernel.graphql.batching import many_per_key, one_per_key


def products(context: RequestContext) -> DataLoader[uuid.UUID, ProductInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[ProductInfo | None]:
        rows = await repository.products_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, rows, lambda row: row.id)

    return context.loader("product.products", lambda: DataLoader(load_fn=load))


def skus(context: RequestContext) -> DataLoader[uuid.UUID, SkuInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[SkuInfo | None]:
        rows = await repository.skus_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, rows, lambda row: row.id)

    return context.loader("product.skus", lambda: DataLoader(load_fn=load))


def skus_of_product(context: RequestContext) -> DataLoader[uuid.UUID, list[SkuInfo]]:
    async def load(product_ids: Sequence[uuid.UUID]) -> list[list[SkuInfo]]:
        rows = await repository.skus_by_products(context.session, context.tenant_id, product_ids)
        return many_per_key(product_ids, rows, lambda row: row.product_id)

    return context.loader("product.skus_of_product", lambda: DataLoader(load_fn=load))


def categories(context: RequestContext) -> DataLoader[uuid.UUID, CategoryInfo | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[CategoryInfo | None]:
        rows = await repository.categories_by_ids(context.session, context.tenant_id, ids)
        return one_per_key(ids, rows, lambda row: row.id)

    return context.loader("product.categories", lambda: DataLoader(load_fn=load))


def listings(context: RequestContext) -> DataLoader[uuid.UUID, list[ListingInfo]]:
    async def load(product_ids: Sequence[uuid.UUID]) -> list[list[ListingInfo]]:
        rows = await repository.listings_by_products(
            context.session, context.tenant_id, product_ids
        )
        return many_per_key(product_ids, rows, lambda row: row.product_id)

    return context.loader("product.listings", lambda: DataLoader(load_fn=load))


def sku_prices(context: RequestContext) -> DataLoader[uuid.UUID, list[SkuPriceInfo]]:
    """Every channel/store price override of each SKU."""

    async def load(sku_ids: Sequence[uuid.UUID]) -> list[list[SkuPriceInfo]]:
        rows = await repository.prices_by_skus(context.session, context.tenant_id, sku_ids)
        return many_per_key(sku_ids, rows, lambda row: row.sku_id)

    return context.loader("product.sku_prices", lambda: DataLoader(load_fn=load))
