"""GraphQL types of the product subgraph: products (SPU), SKUs, categories, listings."""

from __future__ import annotations

import uuid

import strawberry
from strawberry import Info

from centers.product import loaders
from centers.product.dto import CategoryInfo, ListingInfo, Pairs, ProductInfo, SkuInfo, SkuPriceInfo
from centers.product.service.catalog import pick_price
from kernel.context import RequestContext
from kernel.graphql.ids import try_parse_id
from kernel.graphql.types import Money

Ctx = Info[RequestContext, None]


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

    @strawberry.field
    async def parent(self, info: Ctx) -> Category | None:
        if self.parent_id is None:
            return None
        found = await loaders.categories(info.context).load(self.parent_id)
        return Category.of(found) if found else None


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

    @strawberry.field
    async def product(self, info: Ctx) -> Product:
        found = await loaders.products(info.context).load(self.product_id)
        if found is None:
            raise LookupError("SKU without product")  # impossible: written together
        return Product.of(found)

    @strawberry.field(description="Channel and store prices set for this SKU.")
    async def prices(self, info: Ctx) -> list[SkuPrice]:
        found = await loaders.sku_prices(info.context).load(self.list_price.id)
        return [SkuPrice.of(p) for p in found]

    @strawberry.field(
        description="The unit price in a channel at a store: the most specific price set "
        "(channel and store, store, channel), else the list price."
    )
    async def price_in(
        self, info: Ctx, channel: str | None = None, store_id: strawberry.ID | None = None
    ) -> Money:
        found = await loaders.sku_prices(info.context).load(self.list_price.id)
        store = try_parse_id(store_id) if store_id else None
        return Money.of(pick_price(self.list_price.price, found, channel, store))

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

    @strawberry.field
    async def skus(self, info: Ctx) -> list[Sku]:
        product_id = try_parse_id(self.id)
        found = await loaders.skus_of_product(info.context).load(product_id) if product_id else []
        return [Sku.of(s) for s in found]

    @strawberry.field
    async def category(self, info: Ctx) -> Category | None:
        if self.category_id is None:
            return None
        found = await loaders.categories(info.context).load(self.category_id)
        return Category.of(found) if found else None

    @strawberry.field(description="On/off sale per sales channel.")
    async def listings(self, info: Ctx) -> list[ChannelListing]:
        product_id = try_parse_id(self.id)
        found = await loaders.listings(info.context).load(product_id) if product_id else []
        return [ChannelListing.of(x) for x in found]

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Product | None:
        product_id = try_parse_id(id)
        found = await loaders.products(info.context).load(product_id) if product_id else None
        return cls.of(found) if found else None
