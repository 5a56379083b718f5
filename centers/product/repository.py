"""Every query of the product center; tenant scoping lives here and only here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.product.dto import ProductInfo, SkuInfo
from centers.product.models import Product, Sku
from kernel.db import table_of
from kernel.graphql.pagination import PageRequest
from kernel.money import Money

product = table_of(Product)
sku = table_of(Sku)

_product_columns = (product.c.id, product.c.name, product.c.description)
_sku_columns = (
    sku.c.id,
    sku.c.product_id,
    sku.c.code,
    sku.c.name,
    sku.c.price_amount,
    sku.c.currency,
)

# Priced on every order: built once, one prepared statement whatever the number of ids.
_SKUS_BY_IDS = sa.select(*_sku_columns).where(
    sku.c.tenant_id == sa.bindparam("tenant_id"),
    sku.c.id == sa.any_(sa.bindparam("ids", type_=ARRAY(sa.Uuid))),
)


def _sku(row: Any) -> SkuInfo:
    return SkuInfo(
        id=row.id,
        product_id=row.product_id,
        code=row.code,
        name=row.name,
        price=Money(row.price_amount, row.currency),
    )


async def insert_product(
    session: AsyncSession, tenant_id: uuid.UUID, value: ProductInfo, created_at: datetime
) -> None:
    await session.execute(
        product.insert().values(
            tenant_id=tenant_id,
            id=value.id,
            name=value.name,
            description=value.description,
            created_at=created_at,
        )
    )


async def insert_skus(
    session: AsyncSession, tenant_id: uuid.UUID, values: Sequence[SkuInfo], created_at: datetime
) -> list[uuid.UUID]:
    """Insert SKUs whose codes are free; returns the ids actually written."""
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
                    "created_at": created_at,
                }
                for v in values
            ]
        )
        .on_conflict_do_nothing()
        .returning(sku.c.id)
    )
    return list(written.scalars())


async def products_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[ProductInfo]:
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_product_columns).where(product.c.tenant_id == tenant_id, product.c.id.in_(ids))
    )
    return [ProductInfo(*row) for row in rows.all()]


async def list_products(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageRequest
) -> list[ProductInfo]:
    query = sa.select(*_product_columns).where(product.c.tenant_id == tenant_id)
    after = page.after_id()
    if after is not None:
        query = query.where(product.c.id > after)
    rows = await session.execute(query.order_by(product.c.id).limit(page.limit))
    return [ProductInfo(*row) for row in rows.all()]


async def skus_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[SkuInfo]:
    if not ids:
        return []
    rows = await session.execute(_SKUS_BY_IDS, {"tenant_id": tenant_id, "ids": list(ids)})
    return [_sku(row) for row in rows.all()]


async def skus_by_products(
    session: AsyncSession, tenant_id: uuid.UUID, product_ids: Sequence[uuid.UUID]
) -> list[SkuInfo]:
    if not product_ids:
        return []
    rows = await session.execute(
        sa.select(*_sku_columns)
        .where(sku.c.tenant_id == tenant_id, sku.c.product_id.in_(product_ids))
        .order_by(sku.c.product_id, sku.c.code)
    )
    return [_sku(row) for row in rows.all()]


async def sku_by_code(session: AsyncSession, tenant_id: uuid.UUID, code: str) -> SkuInfo | None:
    row = (
        await session.execute(
            sa.select(*_sku_columns).where(sku.c.tenant_id == tenant_id, sku.c.code == code)
        )
    ).first()
    return _sku(row) if row else None
