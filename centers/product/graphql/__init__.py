"""The product subgraph: products (SPU), SKUs by spec, categories, channel listing and
prices, search, and CSV import."""

from __future__ import annotations

import strawberry

from centers.product import policy, repository, service
from centers.product.dto import ImportReport, NewSku, ProductInfo, SkuPriceInfo
from centers.product.graphql.types import (
    Category,
    ChannelListing,
    Ctx,
    Product,
    Sku,
    SkuPrice,
)
from kernel.context import RequestContext
from kernel.errors import UserInputError
from kernel.graphql.fields import mutation, query
from kernel.graphql.ids import parse_id, try_parse_id
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.prefetch import prefetch_page
from kernel.graphql.subgraph import Subgraph
from kernel.graphql.types import UserError

# A CSV sent through the API is bounded; bigger files go through `zhongtai import-products`.
MAX_CSV_BYTES = 2_000_000
MAX_CSV_ROWS = 5_000


@strawberry.input
class AttributeInput:
    name: str
    value: str


@strawberry.input
class NewSkuInput:
    code: str
    name: str
    price: int = strawberry.field(description="List price in minor units of the brand's currency.")
    specs: list[AttributeInput] = strawberry.field(
        default_factory=list, description="e.g. [{name: size, value: L}]"
    )


def _pairs(values: list[AttributeInput] | None) -> tuple[tuple[str, str], ...]:
    return tuple((a.name, a.value) for a in values or [])


@strawberry.input
class CreateProductInput:
    name: str
    description: str = ""
    skus: list[NewSkuInput]
    category_id: strawberry.ID | None = None
    attributes: list[AttributeInput] = strawberry.field(default_factory=list)
    images: list[str] = strawberry.field(default_factory=list)


@strawberry.type
class CreateProductPayload:
    product: Product | None
    user_errors: list[UserError]


@strawberry.input
class UpdateProductInput:
    product_id: strawberry.ID
    name: str | None = None
    description: str | None = None
    category_id: strawberry.ID | None = strawberry.field(
        default=None, description="Move to this category."
    )
    clear_category: bool = False
    attributes: list[AttributeInput] | None = strawberry.field(
        default=None, description="Replaces all attributes when given."
    )
    images: list[str] | None = strawberry.field(default=None, description="Replaces all images.")


@strawberry.type
class UpdateProductPayload:
    product: Product | None
    user_errors: list[UserError]


@strawberry.input
class CreateCategoryInput:
    name: str
    parent_id: strawberry.ID | None = None
    position: int = 0


@strawberry.type
class CreateCategoryPayload:
    category: Category | None
    user_errors: list[UserError]


@strawberry.input
class SetChannelListingInput:
    product_id: strawberry.ID
    channel: str = strawberry.field(description="e.g. mini_program, app, pos, meituan.")
    on_sale: bool


@strawberry.type
class SetChannelListingPayload:
    listing: ChannelListing | None
    user_errors: list[UserError]


@strawberry.input
class SetSkuPriceInput:
    sku_id: strawberry.ID
    channel: str | None = None
    store_id: strawberry.ID | None = None
    price: int | None = strawberry.field(
        description="Minor units; null removes this channel/store price."
    )


@strawberry.type
class SetSkuPricePayload:
    price: SkuPrice | None
    user_errors: list[UserError]


@strawberry.input
class ImportProductsInput:
    csv: str = strawberry.field(
        description="UTF-8 CSV with a header row, one SKU per row (see docs/catalog.md); "
        "at most 2 MB and 5000 rows."
    )


@strawberry.type(description="A CSV row that was not applied, and why.")
class RejectedRowType:
    line: int = strawberry.field(description="Line in the file; the header is line 1.")
    column: str | None
    code: str
    message: str


@strawberry.type
class ImportProductsPayload:
    rows: int
    created: int = strawberry.field(description="Rows that created a product.")
    updated: int = strawberry.field(description="Rows applied to an existing product.")
    rejected: list[RejectedRowType]
    user_errors: list[UserError]


@strawberry.input
class SyncedProductInput:
    external_code: str = strawberry.field(description="The ERP's code of the product.")
    source_version: int = strawberry.field(
        description="The ERP's version of this record; only a newer one changes the product."
    )
    name: str
    description: str = ""
    category_id: strawberry.ID | None = None
    attributes: list[AttributeInput] = strawberry.field(default_factory=list)
    images: list[str] = strawberry.field(default_factory=list)
    skus: list[NewSkuInput]


@strawberry.input
class SyncProductsInput:
    products: list[SyncedProductInput] = strawberry.field(description="1 to 100 products.")


@strawberry.type
class SyncedProduct:
    applied: bool = strawberry.field(description="False for a stale or repeated version.")
    created: bool
    product: Product


@strawberry.type
class SyncProductsPayload:
    results: list[SyncedProduct]
    user_errors: list[UserError]


@strawberry.type
class Query:
    @query(policy.READ_PRODUCT)
    async def product(self, info: Ctx, id: strawberry.ID) -> Product | None:
        found = await Product.resolve_reference(info, id)
        if found is not None:
            await prefetch_page(info, [found], through=())
        return found

    @query(policy.READ_PRODUCT, description="The brand's products, by id.")
    async def products(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[Product]:
        context = info.context
        page = page_request(first, after)
        rows = await repository.list_products(context.session, context.tenant_id, page)
        found = connection(rows, page, Product.of, lambda p: [p.id])
        await prefetch_page(info, [edge.node for edge in found.edges])
        return found

    @query(
        policy.READ_PRODUCT,
        description="Search by words (each must begin a word of the name, description, "
        "SKU names/codes, specs or attributes; Chinese matches inside words too), category "
        "(with its sub-categories), list price range in minor units, and listing: with a "
        "channel, only products on sale there unless onSale is false. Ordered by name.",
    )
    async def search_products(
        self,
        info: Ctx,
        query: str | None = None,
        category_id: strawberry.ID | None = None,
        min_price: int | None = None,
        max_price: int | None = None,
        channel: str | None = None,
        on_sale: bool | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Product]:
        context = info.context
        page = page_request(first, after)
        category = try_parse_id(category_id) if category_id else None
        if category_id and category is None:
            rows: list[ProductInfo] = []
        else:
            rows = await service.search(
                context.session,
                context.tenant_id,
                text=query,
                category_id=category,
                min_price=min_price,
                max_price=max_price,
                channel=channel,
                on_sale=on_sale,
                page=page,
            )
        found = connection(rows, page, Product.of, lambda p: [p.name, p.id])
        await prefetch_page(info, [edge.node for edge in found.edges])
        return found

    @query(policy.READ_PRODUCT)
    async def sku(self, info: Ctx, id: strawberry.ID) -> Sku | None:
        found = await Sku.resolve_reference(info, id)
        if found is not None:
            await prefetch_page(info, [found], through=())
        return found

    @query(
        policy.READ_PRODUCT,
        description="Categories under a parent (top level without one), by position and "
        "name; a brand has at most 1000.",
    )
    async def categories(self, info: Ctx, parent_id: strawberry.ID | None = None) -> list[Category]:
        context = info.context
        parent = try_parse_id(parent_id) if parent_id else None
        if parent_id and parent is None:
            return []
        tree = await repository.list_categories(context.session, context.tenant_id)
        return [Category.of(c) for c in tree if c.parent_id == parent]


def _import_payload(report: ImportReport | None, errors: list[UserError]) -> ImportProductsPayload:
    return ImportProductsPayload(
        rows=report.rows if report else 0,
        created=report.created if report else 0,
        updated=report.updated if report else 0,
        rejected=[
            RejectedRowType(line=r.line, column=r.column, code=r.code, message=r.message)
            for r in (report.rejected if report else ())
        ],
        user_errors=errors,
    )


@strawberry.type
class Mutation:
    @mutation(
        policy.MANAGE_PRODUCT,
        description="Create a product with its SKUs. Codes: NO_SKUS, TOO_MANY_SKUS, INVALID_NAME, "
        "INVALID_DESCRIPTION, INVALID_SKU_CODE, SKU_CODE_TAKEN, INVALID_PRICE, INVALID_SPEC, "
        "INVALID_ATTRIBUTE, INVALID_IMAGE, INVALID_ID, CATEGORY_NOT_FOUND.",
    )
    async def create_product(self, info: Ctx, input: CreateProductInput) -> CreateProductPayload:
        context = info.context

        async def run() -> ProductInfo:
            created, _ = await service.create_product(
                context.session,
                context.tenant_id,
                name=input.name,
                description=input.description,
                skus=[
                    NewSku(code=s.code, name=s.name, price_amount=s.price, specs=_pairs(s.specs))
                    for s in input.skus
                ],
                category_id=(
                    parse_id(input.category_id, ["input", "categoryId"])
                    if input.category_id
                    else None
                ),
                attributes=_pairs(input.attributes),
                images=input.images,
            )
            return created

        created, errors = await attempt(context, run)
        return CreateProductPayload(
            product=Product.of(created) if created else None, user_errors=errors
        )

    @mutation(
        policy.MANAGE_PRODUCT,
        description="Change a product's name, description, category, attributes or images. "
        "Codes: INVALID_ID, PRODUCT_NOT_FOUND, INVALID_NAME, INVALID_DESCRIPTION, "
        "CATEGORY_NOT_FOUND, INVALID_ATTRIBUTE, INVALID_IMAGE.",
    )
    async def update_product(self, info: Ctx, input: UpdateProductInput) -> UpdateProductPayload:
        context = info.context

        async def run() -> ProductInfo:
            return await service.update_product(
                context.session,
                context.tenant_id,
                product_id=parse_id(input.product_id, ["input", "productId"]),
                name=input.name,
                description=input.description,
                category_id=(
                    parse_id(input.category_id, ["input", "categoryId"])
                    if input.category_id
                    else None
                ),
                clear_category=input.clear_category,
                attributes=_pairs(input.attributes) if input.attributes is not None else None,
                images=input.images,
            )

        updated, errors = await attempt(context, run)
        return UpdateProductPayload(
            product=Product.of(updated) if updated else None, user_errors=errors
        )

    @mutation(
        policy.MANAGE_PRODUCT,
        description="Create a category, under a parent or at the top. Codes: INVALID_ID, "
        "INVALID_NAME, CATEGORY_NOT_FOUND, CATEGORY_NAME_TAKEN.",
    )
    async def create_category(self, info: Ctx, input: CreateCategoryInput) -> CreateCategoryPayload:
        context = info.context
        created, errors = await attempt(
            context,
            lambda: service.create_category(
                context.session,
                context.tenant_id,
                name=input.name,
                parent_id=(
                    parse_id(input.parent_id, ["input", "parentId"]) if input.parent_id else None
                ),
                position=input.position,
            ),
        )
        return CreateCategoryPayload(
            category=Category.of(created) if created else None, user_errors=errors
        )

    @mutation(
        policy.MANAGE_PRODUCT,
        description="Put a product on or off sale in a channel (上下架). Codes: INVALID_ID, "
        "INVALID_CHANNEL, PRODUCT_NOT_FOUND.",
    )
    async def set_channel_listing(
        self, info: Ctx, input: SetChannelListingInput
    ) -> SetChannelListingPayload:
        context = info.context
        listed, errors = await attempt(
            context,
            lambda: service.set_listing(
                context.session,
                context.tenant_id,
                product_id=parse_id(input.product_id, ["input", "productId"]),
                channel=input.channel,
                on_sale=input.on_sale,
            ),
        )
        return SetChannelListingPayload(
            listing=ChannelListing.of(listed) if listed else None, user_errors=errors
        )

    @mutation(
        policy.MANAGE_PRODUCT,
        description="Set or remove a SKU's price in a channel, a store, or both. Codes: "
        "INVALID_ID, NO_SCOPE, INVALID_CHANNEL, STORE_NOT_FOUND, SKU_NOT_FOUND, INVALID_PRICE.",
    )
    async def set_sku_price(self, info: Ctx, input: SetSkuPriceInput) -> SetSkuPricePayload:
        context = info.context

        async def run() -> SkuPriceInfo | None:
            return await service.set_sku_price(
                context.session,
                context.tenant_id,
                sku_id=parse_id(input.sku_id, ["input", "skuId"]),
                channel=input.channel,
                store_id=parse_id(input.store_id, ["input", "storeId"]) if input.store_id else None,
                price_amount=input.price,
            )

        price, errors = await attempt(context, run)
        return SetSkuPricePayload(price=SkuPrice.of(price) if price else None, user_errors=errors)

    @mutation(
        policy.MANAGE_PRODUCT,
        description="Create and update products from CSV, row by row: bad rows are listed in "
        "rejected and the others applied. Codes (userErrors, nothing applied): CSV_TOO_LARGE, "
        "MISSING_COLUMN. Row codes: see docs/catalog.md.",
    )
    async def import_products(self, info: Ctx, input: ImportProductsInput) -> ImportProductsPayload:
        context = info.context

        async def run() -> ImportReport:
            if len(input.csv.encode()) > MAX_CSV_BYTES:
                raise UserInputError(
                    "send at most 2 MB; use the import-products command for bigger files",
                    code="CSV_TOO_LARGE",
                    field=["input", "csv"],
                )
            rows = list(service.read_csv(input.csv))
            if len(rows) > MAX_CSV_ROWS:
                raise UserInputError(
                    f"send at most {MAX_CSV_ROWS} rows; use the import-products command",
                    code="CSV_TOO_LARGE",
                    field=["input", "csv"],
                )
            return await service.import_rows(context.session, context.tenant_id, rows)

        report, errors = await attempt(context, run)
        return _import_payload(report, errors)

    @mutation(
        policy.SYNC_PRODUCT,
        description="Create or update products pushed by the brand's ERP, by external code and "
        "ordered by sourceVersion (an older version never overwrites a newer one); SKUs by "
        "code. All or nothing. Codes: TOO_MANY_PRODUCTS, INVALID_EXTERNAL_CODE, "
        "INVALID_SOURCE_VERSION, SKU_CODE_TAKEN, and those of createProduct.",
    )
    async def sync_products(self, info: Ctx, input: SyncProductsInput) -> SyncProductsPayload:
        context = info.context
        results, errors = await attempt(context, lambda: _sync(context, input))
        return SyncProductsPayload(results=results or [], user_errors=errors)


MAX_SYNC_PRODUCTS = 100


def _prefixed(error: UserInputError, index: int) -> UserInputError:
    """Point an error of one product at its place in the list."""
    path = list(error.field or ["input"])
    return UserInputError(
        error.message, code=error.code, field=["input", "products", str(index), *path[1:]]
    )


async def _sync(context: RequestContext, input: SyncProductsInput) -> list[SyncedProduct]:
    if not 1 <= len(input.products) <= MAX_SYNC_PRODUCTS:
        raise UserInputError(
            f"send 1 to {MAX_SYNC_PRODUCTS} products per call",
            code="TOO_MANY_PRODUCTS",
            field=["input", "products"],
        )
    results = []
    for index, item in enumerate(input.products):
        try:
            outcome = await service.upsert_product(
                context.session,
                context.tenant_id,
                external_code=item.external_code,
                source_version=item.source_version,
                name=item.name,
                description=item.description,
                category_id=(
                    parse_id(item.category_id, ["input", "categoryId"])
                    if item.category_id
                    else None
                ),
                attributes=_pairs(item.attributes),
                images=item.images,
                skus=[
                    NewSku(code=s.code, name=s.name, price_amount=s.price, specs=_pairs(s.specs))
                    for s in item.skus
                ],
            )
        except UserInputError as error:
            raise _prefixed(error, index) from None
        results.append(
            SyncedProduct(
                applied=outcome.applied,
                created=outcome.created,
                product=Product.of(outcome.product),
            )
        )
    return results


subgraph = Subgraph(
    name="product",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation),
    entity_permissions={"Product": policy.READ_PRODUCT, "Sku": policy.READ_PRODUCT},
    grants=policy.GRANTS,
    store_permissions=policy.STORE_PERMISSIONS,
)
