"""Where the product subgraph's types live in SQL, for compiled reads (kernel.graphql.plans).

Each entry answers exactly what the resolver in ``types.py`` answers
(tests/centers/product/test_compiled_reads.py runs both paths). Fields not listed
(``listings``, ``searchProducts``…) send a document that selects them down the generic path.
"""

from __future__ import annotations

from collections.abc import Sequence

from kernel.context import RequestContext
from kernel.graphql.plans.maps import (
    Args,
    Binder,
    Composite,
    ConnectionRoot,
    Filters,
    Leaf,
    ObjectRoot,
    OneRow,
    Param,
    Rows,
    SqlMap,
    TypeMap,
    WithArgs,
    id_text,
    money,
    parse_uuid,
)

PRODUCT_TABLE = '"product".product'
SKU_TABLE = '"product".sku'
# A price for every store (repository.catalog.ANY_STORE); '' is every channel.
ANY_STORE = "'00000000-0000-0000-0000-000000000000'::uuid"


def _pairs(column: str) -> Rows:
    """``Attribute.many(pairs)``: a JSONB object's entries in its own order, as text."""
    return Rows(
        "Attribute", f"jsonb_each_text({column}) WITH ORDINALITY", "true", "{child}.ordinality"
    )


ATTRIBUTE = TypeMap("Attribute", {"name": Leaf("{row}.key"), "value": Leaf("{row}.value")})

CATEGORY_OF = OneRow(
    "Category",
    'SELECT c.* FROM "product".category c WHERE c.tenant_id = {row}.tenant_id '
    "AND c.id = {row}.category_id",
)

CATEGORY = TypeMap(
    "Category",
    {
        "id": Leaf(id_text("{row}.id")),
        "name": Leaf("{row}.name"),
        "position": Leaf("{row}.position"),
        "parent": OneRow(
            "Category",
            'SELECT c.* FROM "product".category c WHERE c.tenant_id = {row}.tenant_id '
            "AND c.id = {row}.parent_id",
        ),
    },
)


def _price_in(placeholders: Sequence[str]) -> Composite:
    """``pick_price``: the most specific override (channel and store 3, store 2, channel
    1), else the list price; channels compare in lower case, '' meaning none asked."""
    channel, store = placeholders
    amount = (
        'coalesce((SELECT p.price_amount FROM "product".sku_price p '
        "WHERE p.tenant_id = {row}.tenant_id AND p.sku_id = {row}.id "
        f"AND (p.channel = '' OR p.channel = lower(NULLIF({channel}, ''))) "
        f"AND (p.store_id = {ANY_STORE} OR p.store_id = {store}) "
        f"ORDER BY (p.store_id <> {ANY_STORE})::int * 2 + (p.channel <> '')::int DESC "
        "LIMIT 1), {row}.price_amount)"
    )
    return money(amount)


SKU = TypeMap(
    "Sku",
    {
        "id": Leaf(id_text("{row}.id")),
        "code": Leaf("{row}.code"),
        "name": Leaf("{row}.name"),
        "price": money("{row}.price_amount"),
        "specs": _pairs("{row}.specs"),
        "product": OneRow(
            "Product",
            f"SELECT p.* FROM {PRODUCT_TABLE} p WHERE p.tenant_id = {{row}}.tenant_id "
            "AND p.id = {row}.product_id",
        ),
        "prices": Rows(
            "SkuPrice",
            '(SELECT p.*, {row}.currency FROM "product".sku_price p)',
            "{child}.tenant_id = {row}.tenant_id AND {child}.sku_id = {row}.id",
            "{child}.channel, {child}.store_id",
        ),
        "priceIn": WithArgs(
            params=(
                Param("text", lambda args: args.get("channel")),
                # A malformed store id prices as no store (``try_parse_id``).
                Param("uuid", lambda args: parse_uuid(args.get("storeId"))),
            ),
            build=_price_in,
        ),
    },
)

SKU_PRICE = TypeMap(
    "SkuPrice",
    {
        "channel": Leaf("NULLIF({row}.channel, '')"),
        "storeId": Leaf(f"NULLIF({{row}}.store_id, {ANY_STORE})::text"),
        "price": money("{row}.price_amount"),
    },
)

PRODUCT = TypeMap(
    "Product",
    {
        "id": Leaf(id_text("{row}.id")),
        "name": Leaf("{row}.name"),
        "description": Leaf("{row}.description"),
        "attributes": _pairs("{row}.attributes"),
        "images": Leaf("coalesce({row}.images, '[]'::jsonb)::json"),
        "externalCode": Leaf("{row}.external_code"),
        "category": CATEGORY_OF,
        "skus": Rows(
            "Sku",
            SKU_TABLE,
            "{child}.tenant_id = {row}.tenant_id AND {child}.product_id = {row}.id",
            "{child}.code",
        ),
    },
)


def _everything(context: RequestContext, args: Args, bind: Binder) -> Filters | None:
    """The brand's catalog: READ_PRODUCT (the guard's) reaches all of it."""
    return Filters()


def _by_id(context: RequestContext, args: Args, bind: Binder) -> Filters | None:
    """One row by id; a malformed id finds nothing (``try_parse_id``)."""
    found = parse_uuid(args.get("id"))
    return Filters(["false" if found is None else f"{{row}}.id = {bind(found, 'uuid')}"])


SQL_MAP = SqlMap(
    types=(PRODUCT, SKU, SKU_PRICE, CATEGORY, ATTRIBUTE),
    roots={
        "products": ConnectionRoot("Product", PRODUCT_TABLE, _everything, ascending=True),
        "product": ObjectRoot("Product", PRODUCT_TABLE, _by_id),
        "sku": ObjectRoot("Sku", SKU_TABLE, _by_id),
    },
)
