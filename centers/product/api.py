"""The product center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import importer, repository, service
from centers.product.dto import (
    CartCatalog,
    CategoryInfo,
    ImportReport,
    ListingInfo,
    NewSku,
    Pairs,
    PriceQuote,
    ProductInfo,
    RejectedRow,
    SkuInfo,
    UpsertOutcome,
)
from centers.product.ports import MemberPricing
from kernel.batch import Batch, Column
from kernel.db import Database

CSV_BATCH_ROWS = importer.DEFAULT_BATCH

__all__ = [
    "CartCatalog",
    "CategoryInfo",
    "ImportReport",
    "ListingInfo",
    "MemberPricing",
    "NewSku",
    "PriceQuote",
    "ProductInfo",
    "RejectedRow",
    "SkuInfo",
    "UpsertOutcome",
    "cart_catalog_in",
    "create_product",
    "get_products",
    "get_skus",
    "import_csv_file",
    "import_csv_rows",
    "listings_of",
    "member_pricing",
    "quote_prices",
    "read_csv",
    "set_member_pricing",
    "sku_by_code",
    "upsert_product",
]


async def create_product(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    description: str = "",
    skus: Sequence[NewSku],
    category_id: uuid.UUID | None = None,
    attributes: Mapping[str, str] | Pairs = (),
    images: Sequence[str] = (),
) -> tuple[ProductInfo, list[SkuInfo]]:
    """Create a product with its SKUs priced in the tenant's currency.

    Raises ``UserInputError``: ``NO_SKUS``, ``TOO_MANY_SKUS``, ``INVALID_SKU_CODE``,
    ``SKU_CODE_TAKEN``, ``INVALID_PRICE``, ``INVALID_NAME``, ``INVALID_SPEC``,
    ``INVALID_ATTRIBUTE``, ``INVALID_IMAGE``, ``CATEGORY_NOT_FOUND``.
    """
    return await service.create_product(
        session,
        tenant_id,
        name=name,
        description=description,
        skus=skus,
        category_id=category_id,
        attributes=attributes,
        images=images,
    )


async def upsert_product(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    external_code: str,
    source_version: int | None,
    name: str,
    description: str = "",
    category_id: uuid.UUID | None = None,
    attributes: Mapping[str, str] | Pairs = (),
    images: Sequence[str] = (),
    skus: Sequence[NewSku],
) -> UpsertOutcome:
    """Create or update a product by the tenant ERP's ``external_code`` (inbound sync).

    Idempotent and ordered: with a ``source_version``, a version not newer than the last
    one applied to the product changes nothing and returns ``applied=False``. SKUs are
    matched by code (updated: name, list price, specs; created when new); SKUs absent
    from ``skus`` are kept. Raises ``UserInputError``: ``INVALID_EXTERNAL_CODE``,
    ``INVALID_SOURCE_VERSION``, ``SKU_CODE_TAKEN`` (a code of another product), and the
    codes of ``create_product``.
    """
    return await service.upsert_product(
        session,
        tenant_id,
        external_code=external_code,
        source_version=source_version,
        name=name,
        description=description,
        category_id=category_id,
        attributes=attributes,
        images=images,
        skus=skus,
    )


async def get_skus(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, SkuInfo]:
    """The tenant's SKUs among ``ids`` with their list price; others are absent."""
    return {s.id: s for s in await repository.skus_by_ids(session, tenant_id, ids)}


async def get_products(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ProductInfo]:
    """The tenant's products among ``ids``; others (or other tenants') are absent."""
    return {p.id: p for p in await repository.products_by_ids(session, tenant_id, ids)}


async def sku_by_code(session: AsyncSession, tenant_id: uuid.UUID, code: str) -> SkuInfo | None:
    """The tenant's SKU with this code, if any."""
    return await repository.sku_by_code(session, tenant_id, code)


async def quote_prices(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    sku_ids: Sequence[uuid.UUID],
    *,
    channel: str | None = None,
    store_id: uuid.UUID | None = None,
    member_id: uuid.UUID | None = None,
    known: Mapping[uuid.UUID, SkuInfo] | None = None,
) -> dict[uuid.UUID, PriceQuote]:
    """What each SKU costs in ``channel`` at ``store_id``: the most specific price set
    (channel and store, then store, then channel, then the list price), plus the
    member's price when ``member_id`` is given and the member center registered its
    pricing. Unknown SKUs are absent. A caller that already read the SKUs (``get_skus``)
    passes them as ``known`` to spare the second read."""
    return await service.quote(
        session,
        tenant_id,
        sku_ids,
        channel=channel,
        store_id=store_id,
        member_id=member_id,
        known=known,
    )


def cart_catalog_in(
    batch: Batch,
    tenant_id: uuid.UUID,
    sku_ids: Sequence[uuid.UUID],
    *,
    channel: str | None,
    store_id: uuid.UUID | None,
) -> Column[CartCatalog]:
    """What pricing a cart needs of its SKUs (``get_skus``, ``quote_prices`` without a
    member and the products' categories), read as one column of ``batch`` (the order
    center's placement read). Unknown SKUs are absent."""
    column = repository.cart_catalog_in(batch, tenant_id, sku_ids)

    def decode(value: object) -> CartCatalog:
        found = column.decode(value)
        return CartCatalog(
            skus={sku.id: sku for sku, _, _ in found},
            prices={
                sku.id: service.pick_price(sku.price, overrides, channel, store_id)
                for sku, overrides, _ in found
            },
            categories={sku.product_id: category for sku, _, category in found},
        )

    return Column(column.name, decode)


async def listings_of(
    session: AsyncSession, tenant_id: uuid.UUID, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ListingInfo]]:
    """Each product's channel listings (on/off sale); ``[]`` when never listed."""
    found: dict[uuid.UUID, list[ListingInfo]] = {p: [] for p in product_ids}
    for item in await repository.listings_by_products(session, tenant_id, product_ids):
        found.setdefault(item.product_id, []).append(item)
    return found


def member_pricing() -> MemberPricing | None:
    """The member-price provider in place (the member center registers one), if any."""
    return service.member_pricing()


def set_member_pricing(provider: MemberPricing | None) -> None:
    """Register the member center's pricing (会员价), process-wide; ``None`` removes it."""
    service.set_member_pricing(provider)


def read_csv(text: str | Iterable[str]) -> Iterable[tuple[int, dict[str, str]]]:
    """Parse a catalog CSV into ``(line, row)``; raises ``MISSING_COLUMN`` at the header."""
    return service.read_csv(text)


async def import_csv_rows(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    rows: Iterable[tuple[int, dict[str, str]]],
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Apply catalog CSV rows, each on its own: bad rows are reported, never applied.
    The caller commits (the CLI commits every batch)."""
    return await service.import_rows(session, tenant_id, rows, progress)


async def import_csv_file(
    db: Database,
    tenant_id: uuid.UUID,
    path: Path,
    *,
    batch_size: int = CSV_BATCH_ROWS,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a catalog CSV file in batches, one transaction each (the CLI's
    ``import-products``); ``progress(rows_done)`` after every row. Raises
    ``UserInputError`` (``MISSING_COLUMN``, ``MALFORMED_CSV``) before any row is applied."""
    return await importer.import_file(db, tenant_id, path, batch_size=batch_size, progress=progress)
