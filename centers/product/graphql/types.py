"""GraphQL types of the product subgraph: products (SPU), SKUs, categories, listings."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import strawberry
from graphql import GraphQLResolveInfo
from strawberry import Info

from centers.product import loaders
from centers.product.dto import CategoryInfo, ListingInfo, Pairs, ProductInfo, SkuInfo, SkuPriceInfo
from centers.product.service.catalog import pick_price
from kernel.context import RequestContext
from kernel.graphql.ids import try_parse_id
from kernel.graphql.prefetch import MaybeAwaitable, field_type, loaded, prefetch, prime, ready
from kernel.graphql.types import Money

Ctx = Info[RequestContext, None]
RawInfo = GraphQLResolveInfo[RequestContext]


# Prefetches (kernel.graphql.prefetch): what a page's root loads for a whole level at
# once, through the loaders the resolvers read, which then answer synchronously.


async def _prefetch_skus(
    info: RawInfo, products: Sequence[Product], _arguments: Mapping[str, Any]
) -> list[Sku]:
    context = info.context
    ids = [i for i in (try_parse_id(p.id) for p in products) if i is not None]
    await prime(loaders.skus_of_product(context), ids)
    return [
        sku for p in products if isinstance(found := ready(p._skus(context)), list) for sku in found
    ]


async def _prefetch_prices(
    info: RawInfo, skus: Sequence[Sku], _arguments: Mapping[str, Any]
) -> list[Any]:
    await prime(loaders.sku_prices(info.context), [s.list_price.id for s in skus])
    return []  # prices are leaves: nothing below them loads


async def _prefetch_products(
    info: RawInfo, skus: Sequence[Sku], _arguments: Mapping[str, Any]
) -> list[Product]:
    context = info.context
    await prime(loaders.products(context), [s.product_id for s in skus])
    return [p for s in skus if isinstance(p := ready(s._product(context)), Product)]


async def _prefetch_categories(
    info: RawInfo, products: Sequence[Product], _arguments: Mapping[str, Any]
) -> list[Category]:
    context = info.context
    await prime(loaders.categories(context), [p.category_id for p in products if p.category_id])
    found = (ready(_category(context, p, "category", p.category_id)) for p in products)
    return [c for c in found if isinstance(c, Category)]


async def _prefetch_parents(
    info: RawInfo, categories: Sequence[Category], _arguments: Mapping[str, Any]
) -> list[Category]:
    context = info.context
    await prime(loaders.categories(context), [c.parent_id for c in categories if c.parent_id])
    found = (ready(_category(context, c, "parent", c.parent_id)) for c in categories)
    return [c for c in found if isinstance(c, Category)]


async def _prefetch_listings(
    info: RawInfo, products: Sequence[Product], _arguments: Mapping[str, Any]
) -> list[Any]:
    ids = [i for i in (try_parse_id(p.id) for p in products) if i is not None]
    await prime(loaders.listings(info.context), ids)
    return []  # listings are leaves


def _category(
    context: RequestContext, owner: object, name: str, category_id: uuid.UUID | None
) -> MaybeAwaitable[Category | None]:
    if category_id is None:
        return None
    return loaded(
        owner,
        name,
        loaders.categories(context),
        category_id,
        lambda found: Category.of(found) if found else None,
    )


def _product_of_sku(found: ProductInfo | None) -> Product:
    if found is None:
        raise LookupError("SKU without product")  # impossible: written together
    return Product.of(found)


@strawberry.type(description="A name and value, e.g. size = L, or origin = Sichuan.")
class Attribute:
    name: str
    value: str

    @staticmethod
    def many(pairs: Pairs) -> list[Attribute]:
        return [Attribute(name=n, value=v) for n, v in pairs]


@strawberry.type(description="Whether a product is on sale in a sales channel (上下架).")
class ChannelListing:
    channel: str
    on_sale: bool

    @classmethod
    def of(cls, value: ListingInfo) -> ChannelListing:
        return cls(channel=value.channel, on_sale=value.on_sale)


@strawberry.type(description="A SKU's price in a channel and/or store, over its list price.")
class SkuPrice:
    channel: str | None = strawberry.field(description="null: every channel.")
    store_id: strawberry.ID | None = strawberry.field(description="null: every store.")
    price: Money

    @classmethod
    def of(cls, value: SkuPriceInfo) -> SkuPrice:
        return cls(
            channel=value.channel,
            store_id=strawberry.ID(str(value.store_id)) if value.store_id else None,
            price=Money.of(value.price),
        )


@strawberry.type(description="A category of the menu or catalog (分类).")
class Category:
    id: strawberry.ID
    name: str
    position: int
    parent_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def of(cls, value: CategoryInfo) -> Category:
        return cls(
            id=strawberry.ID(str(value.id)),
            name=value.name,
            position=value.position,
            parent_id=value.parent_id,
        )

    @strawberry.field(
        graphql_type=field_type("Category | None", globals()), metadata=prefetch(_prefetch_parents)
    )
    def parent(self, info: Ctx) -> MaybeAwaitable[Category | None]:
        return _category(info.context, self, "parent", self.parent_id)


@strawberry.federation.type(keys=["id"], description="A sellable variant (SKU) of a product.")
class Sku:
    id: strawberry.ID
    code: str = strawberry.field(description="The brand's own SKU code, unique per brand.")
    name: str
    price: Money = strawberry.field(description="List price per unit.")
    specs: list[Attribute] = strawberry.field(
        description="The spec values of this variant, e.g. size = L, spice = hot."
    )
    product_id: strawberry.Private[uuid.UUID]
    list_price: strawberry.Private[SkuInfo]

    @classmethod
    def of(cls, value: SkuInfo) -> Sku:
        return cls(
            id=strawberry.ID(str(value.id)),
            code=value.code,
            name=value.name,
            price=Money.of(value.price),
            specs=Attribute.many(value.specs),
            product_id=value.product_id,
            list_price=value,
        )

    @strawberry.field(
        graphql_type=field_type("Product", globals()), metadata=prefetch(_prefetch_products)
    )
    def product(self, info: Ctx) -> MaybeAwaitable[Product]:
        return self._product(info.context)

    def _product(self, context: RequestContext) -> MaybeAwaitable[Product]:
        return loaded(self, "product", loaders.products(context), self.product_id, _product_of_sku)

    @strawberry.field(
        graphql_type=field_type("list[SkuPrice]", globals()),
        description="Channel and store prices set for this SKU.",
        metadata=prefetch(_prefetch_prices),
    )
    def prices(self, info: Ctx) -> MaybeAwaitable[list[SkuPrice]]:
        return loaded(
            self,
            "prices",
            loaders.sku_prices(info.context),
            self.list_price.id,
            lambda found: [SkuPrice.of(p) for p in found],
        )

    @strawberry.field(
        graphql_type=field_type("Money", globals()),
        description="The unit price in a channel at a store: the most specific price set "
        "(channel and store, store, channel), else the list price.",
        metadata=prefetch(_prefetch_prices),
    )
    def price_in(
        self, info: Ctx, channel: str | None = None, store_id: strawberry.ID | None = None
    ) -> MaybeAwaitable[Money]:
        store = try_parse_id(store_id) if store_id else None
        list_price = self.list_price.price
        return loaded(
            self,
            f"price_in:{channel}:{store}",
            loaders.sku_prices(info.context),
            self.list_price.id,
            lambda found: Money.of(pick_price(list_price, found, channel, store)),
        )

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Sku | None:
        sku_id = try_parse_id(id)
        found = await loaders.skus(info.context).load(sku_id) if sku_id else None
        return cls.of(found) if found else None


@strawberry.federation.type(keys=["id"], description="A product (SPU), e.g. a dish on the menu.")
class Product:
    id: strawberry.ID
    name: str
    description: str
    attributes: list[Attribute]
    images: list[str] = strawberry.field(description="Image URLs, the first is the main one.")
    external_code: str | None = strawberry.field(description="The brand ERP's code, if synced.")
    category_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def of(cls, value: ProductInfo) -> Product:
        return cls(
            id=strawberry.ID(str(value.id)),
            name=value.name,
            description=value.description,
            attributes=Attribute.many(value.attributes),
            images=list(value.images),
            external_code=value.external_code,
            category_id=value.category_id,
        )

    @strawberry.field(
        graphql_type=field_type("list[Sku]", globals()), metadata=prefetch(_prefetch_skus)
    )
    def skus(self, info: Ctx) -> MaybeAwaitable[list[Sku]]:
        return self._skus(info.context)

    def _skus(self, context: RequestContext) -> MaybeAwaitable[list[Sku]]:
        product_id = try_parse_id(self.id)
        if product_id is None:
            return []
        return loaded(
            self,
            "skus",
            loaders.skus_of_product(context),
            product_id,
            lambda found: [Sku.of(s) for s in found],
        )

    @strawberry.field(
        graphql_type=field_type("Category | None", globals()),
        metadata=prefetch(_prefetch_categories),
    )
    def category(self, info: Ctx) -> MaybeAwaitable[Category | None]:
        return _category(info.context, self, "category", self.category_id)

    @strawberry.field(
        graphql_type=field_type("list[ChannelListing]", globals()),
        description="On/off sale per sales channel.",
        metadata=prefetch(_prefetch_listings),
    )
    def listings(self, info: Ctx) -> MaybeAwaitable[list[ChannelListing]]:
        product_id = try_parse_id(self.id)
        if product_id is None:
            return []
        return loaded(
            self,
            "listings",
            loaders.listings(info.context),
            product_id,
            lambda found: [ChannelListing.of(x) for x in found],
        )

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Product | None:
        product_id = try_parse_id(id)
        found = await loaders.products(info.context).load(product_id) if product_id else None
        return cls.of(found) if found else None
