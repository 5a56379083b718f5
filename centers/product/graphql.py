"""The product subgraph: products (SPU) and SKUs."""

from __future__ import annotations

import uuid

import strawberry
from strawberry import Info

from centers.product import loaders, policy, repository, service
from centers.product.dto import NewSku, ProductInfo, SkuInfo
from kernel.context import RequestContext
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.subgraph import Subgraph
from kernel.graphql.types import Money, UserError

Ctx = Info[RequestContext, None]


@strawberry.federation.type(keys=["id"], description="A sellable variant (SKU) of a product.")
class Sku:
    id: strawberry.ID
    code: str = strawberry.field(description="The brand's own SKU code, unique per brand.")
    name: str
    price: Money = strawberry.field(description="List price per unit.")
    product_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, value: SkuInfo) -> Sku:
        return cls(
            id=strawberry.ID(str(value.id)),
            code=value.code,
            name=value.name,
            price=Money.of(value.price),
            product_id=value.product_id,
        )

    @strawberry.field
    async def product(self, info: Ctx) -> Product:
        found = await loaders.products(info.context).load(self.product_id)
        if found is None:
            raise LookupError("SKU without product")  # impossible: written together
        return Product.of(found)

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

    @classmethod
    def of(cls, value: ProductInfo) -> Product:
        return cls(id=strawberry.ID(str(value.id)), name=value.name, description=value.description)

    @strawberry.field
    async def skus(self, info: Ctx) -> list[Sku]:
        product_id = try_parse_id(self.id)
        found = await loaders.skus_of_product(info.context).load(product_id) if product_id else []
        return [Sku.of(s) for s in found]

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Product | None:
        product_id = try_parse_id(id)
        found = await loaders.products(info.context).load(product_id) if product_id else None
        return cls.of(found) if found else None


@strawberry.input
class NewSkuInput:
    code: str
    name: str
    price: int = strawberry.field(description="List price in minor units of the brand's currency.")


@strawberry.input
class CreateProductInput:
    name: str
    description: str = ""
    skus: list[NewSkuInput]


@strawberry.type
class CreateProductPayload:
    product: Product | None
    user_errors: list[UserError]


@strawberry.type
class Query:
    @query(policy.READ_PRODUCT)
    async def product(self, info: Ctx, id: strawberry.ID) -> Product | None:
        return await Product.resolve_reference(info, id)

    @query(policy.READ_PRODUCT, description="The brand's products, by id.")
    async def products(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[Product]:
        context = info.context
        page = page_request(first, after)
        rows = await repository.list_products(context.session, context.tenant_id, page)
        return connection(rows, page, Product.of, lambda p: [p.id])

    @query(policy.READ_PRODUCT)
    async def sku(self, info: Ctx, id: strawberry.ID) -> Sku | None:
        return await Sku.resolve_reference(info, id)


@strawberry.type
class Mutation:
    @mutation(
        policy.MANAGE_PRODUCT,
        description="Create a product with its SKUs. Codes: NO_SKUS, TOO_MANY_SKUS, INVALID_NAME, "
        "INVALID_DESCRIPTION, INVALID_SKU_CODE, SKU_CODE_TAKEN, INVALID_PRICE.",
    )
    async def create_product(self, info: Ctx, input: CreateProductInput) -> CreateProductPayload:
        context = info.context
        created, errors = await attempt(
            context,
            lambda: service.create_product(
                context.session,
                context.tenant_id,
                name=input.name,
                description=input.description,
                skus=[NewSku(code=s.code, name=s.name, price_amount=s.price) for s in input.skus],
            ),
        )
        return CreateProductPayload(
            product=Product.of(created[0]) if created else None, user_errors=errors
        )


subgraph = Subgraph(
    name="product",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation),
    entity_permissions={"Product": policy.READ_PRODUCT, "Sku": policy.READ_PRODUCT},
    grants=policy.GRANTS,
)
