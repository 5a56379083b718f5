"""Categories, channel listings and price overrides."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.product.dto import CategoryInfo, ListingInfo, SkuInfo, SkuPriceInfo
from centers.product.models import Category, ChannelListing, Sku, SkuPrice
from kernel import prepared
from kernel.batch import Batch, Column
from kernel.db import table_of
from kernel.money import Money

category = table_of(Category)
listing = table_of(ChannelListing)
sku_price = table_of(SkuPrice)
sku = table_of(Sku)

# A brand's category tree is read whole (menus have tens of categories); this bound
# keeps that read finite.
MAX_CATEGORIES = 1000
# Stored for "every channel" / "every store", since key columns cannot be NULL.
ANY_CHANNEL = ""
ANY_STORE = uuid.UUID(int=0)

# Read for every priced cart and menu page: sent straight on the request's connection.
_PRICES_BY_SKUS = prepared.Statement(
    "SELECT p.sku_id, p.channel, p.store_id, p.price_amount, s.currency "
    "FROM product.sku_price p JOIN product.sku s ON s.tenant_id = p.tenant_id AND s.id = p.sku_id "
    "WHERE p.tenant_id = $1 AND p.sku_id = ANY($2::uuid[]) "
    "ORDER BY p.sku_id, p.channel, p.store_id"
)

_category_columns = (category.c.id, category.c.parent_id, category.c.name, category.c.position)


def _category(row: Any) -> CategoryInfo:
    return CategoryInfo(id=row.id, parent_id=row.parent_id, name=row.name, position=row.position)


async def insert_category(session: AsyncSession, tenant_id: uuid.UUID, value: CategoryInfo) -> bool:
    """Insert unless the name is taken under the same parent."""
    written = await session.scalar(
        insert(category)
        .values(
            tenant_id=tenant_id,
            id=value.id,
            parent_id=value.parent_id,
            name=value.name,
            position=value.position,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing()
        .returning(category.c.id)
    )
    return written is not None


async def category_by_name(
    session: AsyncSession, tenant_id: uuid.UUID, parent_id: uuid.UUID | None, name: str
) -> CategoryInfo | None:
    parent = (
        category.c.parent_id.is_(None) if parent_id is None else category.c.parent_id == parent_id
    )
    row = (
        await session.execute(
            sa.select(*_category_columns).where(
                category.c.tenant_id == tenant_id, parent, category.c.name == name
            )
        )
    ).first()
    return _category(row) if row else None


async def categories_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[CategoryInfo]:
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_category_columns).where(
            category.c.tenant_id == tenant_id, category.c.id.in_(ids)
        )
    )
    return [_category(row) for row in rows.all()]


async def list_categories(session: AsyncSession, tenant_id: uuid.UUID) -> list[CategoryInfo]:
    """The whole tree, parents' children by position then name."""
    rows = await session.execute(
        sa.select(*_category_columns)
        .where(category.c.tenant_id == tenant_id)
        .order_by(category.c.position, category.c.name, category.c.id)
        .limit(MAX_CATEGORIES)
    )
    return [_category(row) for row in rows.all()]


async def upsert_listing(session: AsyncSession, tenant_id: uuid.UUID, value: ListingInfo) -> None:
    statement = insert(listing).values(
        tenant_id=tenant_id,
        product_id=value.product_id,
        channel=value.channel,
        on_sale=value.on_sale,
        updated_at=datetime.now(UTC),
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[listing.c.tenant_id, listing.c.product_id, listing.c.channel],
            set_={
                "on_sale": statement.excluded.on_sale,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )


async def listings_by_products(
    session: AsyncSession, tenant_id: uuid.UUID, product_ids: Sequence[uuid.UUID]
) -> list[ListingInfo]:
    if not product_ids:
        return []
    rows = await session.execute(
        sa.select(listing.c.product_id, listing.c.channel, listing.c.on_sale)
        .where(listing.c.tenant_id == tenant_id, listing.c.product_id.in_(product_ids))
        .order_by(listing.c.product_id, listing.c.channel)
    )
    return [ListingInfo(*row) for row in rows.all()]


async def upsert_sku_price(
    session: AsyncSession, tenant_id: uuid.UUID, value: SkuPriceInfo
) -> None:
    statement = insert(sku_price).values(
        tenant_id=tenant_id,
        sku_id=value.sku_id,
        channel=value.channel or ANY_CHANNEL,
        store_id=value.store_id or ANY_STORE,
        price_amount=value.price.amount,
        updated_at=datetime.now(UTC),
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[
                sku_price.c.tenant_id,
                sku_price.c.sku_id,
                sku_price.c.channel,
                sku_price.c.store_id,
            ],
            set_={
                "price_amount": statement.excluded.price_amount,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )


async def delete_sku_price(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    sku_id: uuid.UUID,
    channel: str | None,
    store_id: uuid.UUID | None,
) -> None:
    await session.execute(
        sa.delete(sku_price).where(
            sku_price.c.tenant_id == tenant_id,
            sku_price.c.sku_id == sku_id,
            sku_price.c.channel == (channel or ANY_CHANNEL),
            sku_price.c.store_id == (store_id or ANY_STORE),
        )
    )


async def prices_by_skus(
    session: AsyncSession, tenant_id: uuid.UUID, sku_ids: Sequence[uuid.UUID]
) -> list[SkuPriceInfo]:
    """Every override of the SKUs (a handful each: channels × stores that differ)."""
    if not sku_ids:
        return []
    rows = await prepared.fetch(session, _PRICES_BY_SKUS, tenant_id, list(sku_ids))
    return [
        SkuPriceInfo(
            sku_id=sku_id,
            channel=channel or None,
            store_id=None if store_id == ANY_STORE else store_id,
            price=Money(price_amount, currency),
        )
        for sku_id, channel, store_id, price_amount, currency in rows
    ]


# A cart's SKUs with their price overrides and their products' categories, as one json
# array: a column of the placement's batch read (``kernel.batch``).
_CART_CATALOG = """
SELECT coalesce(json_agg(json_build_object(
  'id', s.id, 'product_id', s.product_id, 'code', s.code, 'name', s.name,
  'price_amount', s.price_amount, 'currency', s.currency, 'specs', s.specs,
  'category_id', p.category_id,
  'overrides', (SELECT json_agg(json_build_array(x.channel, x.store_id, x.price_amount)
                                ORDER BY x.channel, x.store_id)
                FROM product.sku_price x WHERE x.tenant_id = s.tenant_id AND x.sku_id = s.id)
)), '[]')
FROM product.sku s
LEFT JOIN product.product p ON p.tenant_id = s.tenant_id AND p.id = s.product_id
WHERE s.tenant_id = {tenant_id} AND s.id = ANY({sku_ids})
"""


def cart_catalog_in(
    batch: Batch, tenant_id: uuid.UUID, sku_ids: Sequence[uuid.UUID]
) -> Column[list[tuple[SkuInfo, list[SkuPriceInfo], uuid.UUID | None]]]:
    """The SKUs among ``sku_ids``, each with its price overrides and its product's
    category, as a column of ``batch``."""

    def decode(value: Any) -> list[tuple[SkuInfo, list[SkuPriceInfo], uuid.UUID | None]]:
        found = []
        for item in json.loads(value) if isinstance(value, str) else value:
            sku_id = uuid.UUID(item["id"])
            currency = item["currency"]
            found.append(
                (
                    SkuInfo(
                        id=sku_id,
                        product_id=uuid.UUID(item["product_id"]),
                        code=item["code"],
                        name=item["name"],
                        price=Money(item["price_amount"], currency),
                        specs=tuple((str(k), str(v)) for k, v in (item["specs"] or {}).items()),
                    ),
                    [
                        SkuPriceInfo(
                            sku_id=sku_id,
                            channel=channel or None,
                            store_id=None if uuid.UUID(store) == ANY_STORE else uuid.UUID(store),
                            price=Money(amount, currency),
                        )
                        for channel, store, amount in item["overrides"] or ()
                    ],
                    uuid.UUID(item["category_id"]) if item["category_id"] else None,
                )
            )
        return found

    return batch.column(
        batch.fresh("cart_catalog"),
        _CART_CATALOG.format(
            tenant_id=batch.arg(tenant_id, "uuid"), sku_ids=batch.arg(list(sku_ids), "uuid[]")
        ),
        decode,
    )
