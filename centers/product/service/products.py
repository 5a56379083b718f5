"""Products and SKUs: create, edit, and upsert by the ERP's external code."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import repository
from centers.product.dto import NewSku, Pairs, ProductInfo, SkuInfo, UpsertOutcome
from centers.product.events import ProductCreated, ProductUpdated
from centers.store import api as store_api
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.money import Money
from kernel.outbox import emit
from kernel.text import required_text

SKU_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
EXTERNAL_CODE = SKU_CODE
PAIR_NAME = re.compile(r"^[^\s=;|][^=;|]{0,31}$")
IMAGE_URL = re.compile(r"^https?://[^\s]{1,490}$")
MAX_SKUS_PER_PRODUCT = 200
MAX_ATTRIBUTES = 30
MAX_SPECS = 5
MAX_IMAGES = 10
# ¥10,000,000.00: far above any menu item, low enough that line totals stay exact.
MAX_PRICE = 1_000_000_000
# Runs of CJK characters: the 'simple' parser keeps a run as one word, so the search text
# also carries each run's suffixes, making a prefix query find words inside a run.
CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{2,}")
MAX_SUFFIXES = 16


@dataclass(frozen=True, slots=True)
class KnownContext:
    """What a bulk import looked up once for many rows."""

    currency: str
    category_checked: bool


def _name(value: str, field: Sequence[str]) -> str:
    return required_text(value, label="name", max_length=200, code="INVALID_NAME", field=field)


def check_pairs(
    values: Mapping[str, str] | Pairs,
    *,
    limit: int,
    value_length: int,
    code: str,
    field: Sequence[str],
) -> Pairs:
    """Name/value pairs (attributes, specs): bounded, names unique, values non-empty."""
    pairs = tuple(values.items()) if isinstance(values, Mapping) else tuple(values)
    if len(pairs) > limit:
        raise UserInputError(f"at most {limit} entries", code=code, field=list(field))
    seen: set[str] = set()
    cleaned: list[tuple[str, str]] = []
    for name, value in pairs:
        name, value = name.strip(), value.strip()
        if not PAIR_NAME.match(name) or name in seen or not 1 <= len(value) <= value_length:
            raise UserInputError(
                f"each entry needs a unique name (1-32 characters, no '=', ';' or '|') and a "
                f"value of 1-{value_length} characters; {name!r} does not fit",
                code=code,
                field=list(field),
            )
        seen.add(name)
        cleaned.append((name, value))
    return tuple(cleaned)


def check_images(values: Sequence[str], field: Sequence[str]) -> tuple[str, ...]:
    if len(values) > MAX_IMAGES or not all(IMAGE_URL.match(v) for v in values):
        raise UserInputError(
            f"up to {MAX_IMAGES} http(s) URLs of at most 500 characters",
            code="INVALID_IMAGE",
            field=list(field),
        )
    return tuple(values)


def check_price(amount: int, field: Sequence[str]) -> int:
    if not 0 <= amount <= MAX_PRICE:
        raise UserInputError(
            f"price must be between 0 and {MAX_PRICE} minor units",
            code="INVALID_PRICE",
            field=list(field),
        )
    return amount


def search_text(value: ProductInfo, skus: Sequence[SkuInfo]) -> str:
    """Everything a customer may type to find the product."""
    parts = [value.name, value.description, value.external_code or ""]
    parts += [v for _, v in value.attributes]
    for item in skus:
        parts += [item.name, item.code, *(v for _, v in item.specs)]
    text = " ".join(p for p in parts if p)
    suffixes = [
        run[i:] for run in CJK_RUN.findall(text) for i in range(1, min(len(run), MAX_SUFFIXES + 1))
    ]
    return " ".join([text, *suffixes])[:20_000]


async def check_category(
    session: AsyncSession, tenant_id: uuid.UUID, category_id: uuid.UUID | None, field: Sequence[str]
) -> None:
    if category_id is not None and not await repository.categories_by_ids(
        session, tenant_id, [category_id]
    ):
        raise UserInputError("category not found", code="CATEGORY_NOT_FOUND", field=list(field))


def _new_skus(
    product_id: uuid.UUID, skus: Sequence[NewSku], currency: str, path: Sequence[str]
) -> list[SkuInfo]:
    if not skus:
        raise UserInputError("a product needs at least one SKU", code="NO_SKUS", field=list(path))
    if len(skus) > MAX_SKUS_PER_PRODUCT:
        raise UserInputError(
            f"at most {MAX_SKUS_PER_PRODUCT} SKUs per product",
            code="TOO_MANY_SKUS",
            field=list(path),
        )
    seen: set[str] = set()
    found: list[SkuInfo] = []
    for index, item in enumerate(skus):
        at = [*path, str(index)]
        if not SKU_CODE.match(item.code):
            raise UserInputError(
                "SKU code must be 1-64 letters, digits, '_', '.' or '-'",
                code="INVALID_SKU_CODE",
                field=[*at, "code"],
            )
        if item.code in seen:
            raise UserInputError(
                f"SKU code {item.code!r} appears twice", code="SKU_CODE_TAKEN", field=[*at, "code"]
            )
        seen.add(item.code)
        found.append(
            SkuInfo(
                id=new_id(),
                product_id=product_id,
                code=item.code,
                name=_name(item.name, [*at, "name"]),
                price=Money(check_price(item.price_amount, [*at, "price"]), currency),
                specs=check_pairs(
                    item.specs,
                    limit=MAX_SPECS,
                    value_length=64,
                    code="INVALID_SPEC",
                    field=[*at, "specs"],
                ),
            )
        )
    return found


def _description(value: str, field: Sequence[str]) -> str:
    if len(value) > 2000:
        raise UserInputError(
            "description is at most 2000 characters", code="INVALID_DESCRIPTION", field=list(field)
        )
    return value


async def currency_of(session: AsyncSession, tenant_id: uuid.UUID) -> str:
    return await _currency(session, tenant_id)


async def _currency(session: AsyncSession, tenant_id: uuid.UUID) -> str:
    tenant = await store_api.get_tenant(session, tenant_id)
    if tenant is None:
        raise UserInputError("unknown tenant", code="TENANT_NOT_FOUND")
    return tenant.currency


async def create_product(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    description: str,
    skus: Sequence[NewSku],
    category_id: uuid.UUID | None = None,
    attributes: Mapping[str, str] | Pairs = (),
    images: Sequence[str] = (),
) -> tuple[ProductInfo, list[SkuInfo]]:
    currency = await _currency(session, tenant_id)
    await check_category(session, tenant_id, category_id, ["input", "categoryId"])
    value = ProductInfo(
        id=new_id(),
        name=_name(name, ["input", "name"]),
        description=_description(description, ["input", "description"]),
        category_id=category_id,
        attributes=check_pairs(
            attributes,
            limit=MAX_ATTRIBUTES,
            value_length=200,
            code="INVALID_ATTRIBUTE",
            field=["input", "attributes"],
        ),
        images=check_images(images, ["input", "images"]),
    )
    new_skus = _new_skus(value.id, skus, currency, ["input", "skus"])
    now = datetime.now(UTC)
    await repository.insert_product(
        session, tenant_id, value, now, search_text=search_text(value, new_skus)
    )
    written = set(await repository.insert_skus(session, tenant_id, new_skus, now))
    for index, created in enumerate(new_skus):
        if created.id not in written:
            raise UserInputError(
                f"SKU code {created.code!r} is taken",
                code="SKU_CODE_TAKEN",
                field=["input", "skus", str(index), "code"],
            )
    await emit(
        session,
        tenant_id,
        ProductCreated(product_id=value.id, name=value.name, sku_ids=[s.id for s in new_skus]),
    )
    return value, new_skus


async def update_product(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    product_id: uuid.UUID,
    name: str | None = None,
    description: str | None = None,
    category_id: uuid.UUID | None = None,
    clear_category: bool = False,
    attributes: Mapping[str, str] | Pairs | None = None,
    images: Sequence[str] | None = None,
) -> ProductInfo:
    """Change what is given; the rest stays."""
    found = await repository.products_by_ids(session, tenant_id, [product_id])
    if not found:
        raise UserInputError(
            "product not found", code="PRODUCT_NOT_FOUND", field=["input", "productId"]
        )
    current = found[0]
    if category_id is not None:
        await check_category(session, tenant_id, category_id, ["input", "categoryId"])
    value = ProductInfo(
        id=current.id,
        name=_name(name, ["input", "name"]) if name is not None else current.name,
        description=(
            _description(description, ["input", "description"])
            if description is not None
            else current.description
        ),
        category_id=None if clear_category else (category_id or current.category_id),
        attributes=(
            check_pairs(
                attributes,
                limit=MAX_ATTRIBUTES,
                value_length=200,
                code="INVALID_ATTRIBUTE",
                field=["input", "attributes"],
            )
            if attributes is not None
            else current.attributes
        ),
        images=check_images(images, ["input", "images"]) if images is not None else current.images,
        external_code=current.external_code,
    )
    skus = await repository.skus_by_products(session, tenant_id, [product_id])
    await repository.update_product(session, tenant_id, value, search_text=search_text(value, skus))
    await emit(
        session, tenant_id, ProductUpdated(product_id=value.id, sku_ids=[s.id for s in skus])
    )
    return value


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
    known: KnownContext | None = None,
) -> UpsertOutcome:
    """Create or update the product with this external code, and its SKUs by code.

    With a ``source_version``, a version not newer than the last applied changes nothing
    (``applied=False``): replays and late messages never overwrite newer data. SKUs not
    in ``skus`` are kept; a SKU code held by another product is ``SKU_CODE_TAKEN``.
    ``known`` spares a bulk import the lookups it already made (currency, category).
    """
    if not EXTERNAL_CODE.match(external_code):
        raise UserInputError(
            "external code must be 1-64 letters, digits, '_', '.' or '-'",
            code="INVALID_EXTERNAL_CODE",
            field=["input", "externalCode"],
        )
    if source_version is not None and source_version < 0:
        raise UserInputError(
            "sourceVersion must not be negative",
            code="INVALID_SOURCE_VERSION",
            field=["input", "sourceVersion"],
        )
    currency = known.currency if known else await _currency(session, tenant_id)
    if not (known and known.category_checked):
        await check_category(session, tenant_id, category_id, ["input", "categoryId"])
    await repository.lock_external_code(session, tenant_id, external_code)
    existing = await repository.product_by_external_code(session, tenant_id, external_code)
    if existing is not None and source_version is not None:
        last = existing[1]
        if last is not None and source_version <= last:
            current = await repository.skus_by_products(session, tenant_id, [existing[0].id])
            return UpsertOutcome(False, False, existing[0], tuple(current))
    product_id = existing[0].id if existing else new_id()
    value = ProductInfo(
        id=product_id,
        name=_name(name, ["input", "name"]),
        description=_description(description, ["input", "description"]),
        category_id=category_id,
        attributes=check_pairs(
            attributes,
            limit=MAX_ATTRIBUTES,
            value_length=200,
            code="INVALID_ATTRIBUTE",
            field=["input", "attributes"],
        ),
        images=check_images(images, ["input", "images"]),
        external_code=external_code,
    )
    wanted = _new_skus(product_id, skus, currency, ["input", "skus"])
    held = {
        s.code: s
        for s in await repository.skus_by_codes(session, tenant_id, [s.code for s in wanted])
    }
    now = datetime.now(UTC)
    fresh: list[SkuInfo] = []
    final: list[SkuInfo] = []
    for index, item in enumerate(wanted):
        other = held.get(item.code)
        if other is None:
            fresh.append(item)
            final.append(item)
            continue
        if other.product_id != product_id:
            raise UserInputError(
                f"SKU code {item.code!r} belongs to another product",
                code="SKU_CODE_TAKEN",
                field=["input", "skus", str(index), "code"],
            )
        kept = SkuInfo(other.id, product_id, item.code, item.name, item.price, item.specs)
        await repository.update_sku(session, tenant_id, kept)
        final.append(kept)
    if existing is None:
        await repository.insert_product(
            session, tenant_id, value, now, source_version=source_version
        )
    written = set(await repository.insert_skus(session, tenant_id, fresh, now))
    if len(written) != len(fresh):  # a concurrent import took a code meanwhile
        raise UserInputError(
            "a SKU code was taken meanwhile", code="SKU_CODE_TAKEN", field=["input", "skus"]
        )
    every = await repository.skus_by_products(session, tenant_id, [product_id])
    await repository.update_product(
        session,
        tenant_id,
        value,
        search_text=search_text(value, every),
        source_version=source_version,
    )
    sku_ids = [s.id for s in final]
    if existing is None:
        await emit(
            session,
            tenant_id,
            ProductCreated(product_id=product_id, name=value.name, sku_ids=sku_ids),
        )
    else:
        await emit(session, tenant_id, ProductUpdated(product_id=product_id, sku_ids=sku_ids))
    return UpsertOutcome(True, existing is None, value, tuple(final))
