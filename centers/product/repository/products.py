"""Products (SPU) and SKUs: writes, lookups and search."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.product.dto import Pairs, ProductInfo, SkuInfo
from centers.product.models import ChannelListing, Product, Sku
from kernel import prepared
from kernel.db import table_of
from kernel.errors import UserInputError
from kernel.graphql.pagination import PageRequest
from kernel.money import Money

product = table_of(Product)
sku = table_of(Sku)
listing = table_of(ChannelListing)

_product_columns = (
    product.c.id,
    product.c.name,
    product.c.description,
    product.c.category_id,
    product.c.attributes,
    product.c.images,
    product.c.external_code,
)
_sku_columns = (
    sku.c.id,
    sku.c.product_id,
    sku.c.code,
    sku.c.name,
    sku.c.price_amount,
    sku.c.currency,
    sku.c.specs,
)

# Priced on every order: built once, one prepared statement whatever the number of ids.
_SKUS_BY_IDS = sa.select(*_sku_columns).where(
    sku.c.tenant_id == sa.bindparam("tenant_id"),
    sku.c.id == sa.any_(sa.bindparam("ids", type_=ARRAY(sa.Uuid))),
)

# Read for every priced cart (categories for promotion scopes): built once too.
_PRODUCTS_BY_IDS = sa.select(*_product_columns).where(
    product.c.tenant_id == sa.bindparam("tenant_id"),
    product.c.id == sa.any_(sa.bindparam("ids", type_=ARRAY(sa.Uuid))),
)


# Read on every menu page: sent straight on the request's connection (kernel.prepared).
_PRODUCT_COLUMNS = "id, name, description, category_id, attributes, images, external_code"
_SKU_COLUMNS = "id, product_id, code, name, price_amount, currency, specs"
_LIST_PRODUCTS = prepared.Statement(
    f"SELECT {_PRODUCT_COLUMNS} FROM product.product "  # noqa: S608 -- constant columns
    "WHERE tenant_id = $1 ORDER BY id LIMIT $2"
)
_LIST_PRODUCTS_AFTER = prepared.Statement(
    f"SELECT {_PRODUCT_COLUMNS} FROM product.product "  # noqa: S608 -- constant columns
    "WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"
)
_SKUS_BY_PRODUCTS = prepared.Statement(
    f"SELECT {_SKU_COLUMNS} FROM product.sku "  # noqa: S608 -- constant columns
    "WHERE tenant_id = $1 AND product_id = ANY($2::uuid[]) ORDER BY product_id, code"
)


def _pairs(value: Any) -> Pairs:
    return tuple((str(k), str(v)) for k, v in (value or {}).items())


def _product(row: Any) -> ProductInfo:
    """From a row of ``_product_columns`` (SQLAlchemy's or asyncpg's: by position)."""
    id_, name, description, category_id, attributes, images, external_code = row[:7]
    return ProductInfo(
        id=id_,
        name=name,
        description=description,
        category_id=category_id,
        attributes=_pairs(attributes),
        images=tuple(str(i) for i in images or ()),
        external_code=external_code,
    )


def _sku(row: Any) -> SkuInfo:
    """From a row of ``_sku_columns`` (SQLAlchemy's or asyncpg's: by position)."""
    id_, product_id, code, name, price_amount, currency, specs = row[:7]
    return SkuInfo(
        id=id_,
        product_id=product_id,
        code=code,
        name=name,
        price=Money(price_amount, currency),
        specs=_pairs(specs),
    )


def _product_values(value: ProductInfo, search_text: str) -> dict[str, Any]:
    return {
        "name": value.name,
        "description": value.description,
        "category_id": value.category_id,
        "attributes": dict(value.attributes),
        "images": list(value.images),
        "search_text": search_text,
    }


async def insert_product(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    value: ProductInfo,
    created_at: datetime,
    *,
    search_text: str = "",
    source_version: int | None = None,
) -> None:
    await session.execute(
        product.insert().values(
            tenant_id=tenant_id,
            id=value.id,
            created_at=created_at,
            external_code=value.external_code,
            source_version=source_version,
            **_product_values(value, search_text or f"{value.name} {value.description}"),
        )
    )


async def update_product(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    value: ProductInfo,
    *,
    search_text: str,
    source_version: int | None = None,
) -> bool:
    values = _product_values(value, search_text)
    if source_version is not None:
        values["source_version"] = source_version
    written = await session.scalar(
        sa.update(product)
        .where(product.c.tenant_id == tenant_id, product.c.id == value.id)
        .values(**values)
        .returning(product.c.id)
    )
    return written is not None


async def lock_external_code(session: AsyncSession, tenant_id: uuid.UUID, code: str) -> None:
    """Serialize upserts of one external code (a product not yet created has no row to
    lock), until the transaction ends."""
    await session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"product.external:{tenant_id}:{code}"},
    )


async def product_by_external_code(
    session: AsyncSession, tenant_id: uuid.UUID, code: str
) -> tuple[ProductInfo, int | None] | None:
    """The product with this ERP code, locked, with the last ERP version applied."""
    row = (
        await session.execute(
            sa.select(*_product_columns, product.c.source_version)
            .where(product.c.tenant_id == tenant_id, product.c.external_code == code)
            .with_for_update()
        )
    ).first()
    return (_product(row), row.source_version) if row else None


async def insert_skus(
    session: AsyncSession, tenant_id: uuid.UUID, values: Sequence[SkuInfo], created_at: datetime
) -> list[uuid.UUID]:
    """Insert SKUs whose codes are free; returns the ids actually written."""
    if not values:
        return []
    written = await session.execute(
        insert(sku)
        .values(
            [
                {
                    "tenant_id": tenant_id,
                    "id": v.id,
                    "product_id": v.product_id,
                    "code": v.code,
                    "name": v.name,
                    "price_amount": v.price.amount,
                    "currency": v.price.currency,
                    "specs": dict(v.specs),
                    "created_at": created_at,
                }
                for v in values
            ]
        )
        .on_conflict_do_nothing()
        .returning(sku.c.id)
    )
    return list(written.scalars())


async def update_sku(session: AsyncSession, tenant_id: uuid.UUID, value: SkuInfo) -> bool:
    """Rename, reprice or respec a SKU of the same product; False if it is not there."""
    written = await session.scalar(
        sa.update(sku)
        .where(
            sku.c.tenant_id == tenant_id,
            sku.c.id == value.id,
            sku.c.product_id == value.product_id,
        )
        .values(name=value.name, price_amount=value.price.amount, specs=dict(value.specs))
        .returning(sku.c.id)
    )
    return written is not None


async def products_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[ProductInfo]:
    if not ids:
        return []
    rows = await session.execute(_PRODUCTS_BY_IDS, {"tenant_id": tenant_id, "ids": list(ids)})
    return [_product(row) for row in rows.all()]


async def list_products(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageRequest
) -> list[ProductInfo]:
    after = page.after_id()
    rows = (
        await prepared.fetch(session, _LIST_PRODUCTS, tenant_id, page.limit)
        if after is None
        else await prepared.fetch(session, _LIST_PRODUCTS_AFTER, tenant_id, after, page.limit)
    )
    return [_product(row) for row in rows]


async def skus_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[SkuInfo]:
    if not ids:
        return []
    rows = await session.execute(_SKUS_BY_IDS, {"tenant_id": tenant_id, "ids": list(ids)})
    return [_sku(row) for row in rows.all()]


async def skus_by_codes(
    session: AsyncSession, tenant_id: uuid.UUID, codes: Sequence[str]
) -> list[SkuInfo]:
    if not codes:
        return []
    rows = await session.execute(
        sa.select(*_sku_columns).where(sku.c.tenant_id == tenant_id, sku.c.code.in_(codes))
    )
    return [_sku(row) for row in rows.all()]


async def skus_by_products(
    session: AsyncSession, tenant_id: uuid.UUID, product_ids: Sequence[uuid.UUID]
) -> list[SkuInfo]:
    if not product_ids:
        return []
    rows = await prepared.fetch(session, _SKUS_BY_PRODUCTS, tenant_id, list(product_ids))
    return [_sku(row) for row in rows]


async def sku_by_code(session: AsyncSession, tenant_id: uuid.UUID, code: str) -> SkuInfo | None:
    row = (
        await session.execute(
            sa.select(*_sku_columns).where(sku.c.tenant_id == tenant_id, sku.c.code == code)
        )
    ).first()
    return _sku(row) if row else None


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """What ``searchProducts`` narrows by; every part is optional."""

    terms: tuple[str, ...] = ()  # each must prefix-match a word of the product
    category_ids: tuple[uuid.UUID, ...] = ()  # any of these (a category and its children)
    min_price: int | None = None  # some SKU's list price is at least this
    max_price: int | None = None  # ... and at most this
    channel: str | None = None
    on_sale: bool | None = None  # listed on sale in ``channel`` (or in any channel)


def _tsquery(terms: Sequence[str]) -> str:
    # Terms hold only word characters (the service splits on everything else), so
    # quoting them makes a safe prefix query.
    return " & ".join(f"'{term}':*" for term in terms)


async def search_products(
    session: AsyncSession, tenant_id: uuid.UUID, where: SearchFilter, page: PageRequest
) -> list[ProductInfo]:
    """Products matching ``where``, by name then id (cursor: name, id)."""
    query = sa.select(*_product_columns).where(product.c.tenant_id == tenant_id)
    if where.terms:
        query = query.where(
            product.c.search.op("@@")(sa.func.to_tsquery("simple", _tsquery(where.terms)))
        )
    if where.category_ids:
        query = query.where(product.c.category_id.in_(where.category_ids))
    if where.min_price is not None or where.max_price is not None:
        priced = sa.select(sku.c.id).where(
            sku.c.tenant_id == product.c.tenant_id, sku.c.product_id == product.c.id
        )
        if where.min_price is not None:
            priced = priced.where(sku.c.price_amount >= where.min_price)
        if where.max_price is not None:
            priced = priced.where(sku.c.price_amount <= where.max_price)
        query = query.where(priced.exists())
    if where.on_sale is not None:
        listed = sa.select(listing.c.product_id).where(
            listing.c.tenant_id == product.c.tenant_id,
            listing.c.product_id == product.c.id,
            listing.c.on_sale.is_(True),
        )
        if where.channel is not None:
            listed = listed.where(listing.c.channel == where.channel)
        query = query.where(listed.exists() if where.on_sale else ~listed.exists())
    if page.after:
        try:
            name, last = str(page.after[0]), uuid.UUID(str(page.after[1]))
        except (ValueError, IndexError):
            raise UserInputError(
                "malformed cursor", code="INVALID_CURSOR", field=["after"]
            ) from None
        query = query.where(sa.tuple_(product.c.name, product.c.id) > (name, last))
    rows = await session.execute(query.order_by(product.c.name, product.c.id).limit(page.limit))
    return [_product(row) for row in rows.all()]
