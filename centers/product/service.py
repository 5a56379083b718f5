"""Domain logic of the product center. Never commits."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import repository
from centers.product.dto import NewSku, ProductInfo, SkuInfo
from centers.product.events import ProductCreated
from centers.store import api as store_api
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.money import Money
from kernel.outbox import emit
from kernel.text import required_text

SKU_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_SKUS_PER_PRODUCT = 200
# ¥10,000,000.00: far above any menu item, low enough that line totals stay exact.
MAX_PRICE = 1_000_000_000


def _name(value: str, field: list[str]) -> str:
    return required_text(value, label="name", max_length=200, code="INVALID_NAME", field=field)


async def create_product(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    description: str,
    skus: Sequence[NewSku],
) -> tuple[ProductInfo, list[SkuInfo]]:
    if not skus:
        raise UserInputError(
            "a product needs at least one SKU", code="NO_SKUS", field=["input", "skus"]
        )
    if len(skus) > MAX_SKUS_PER_PRODUCT:
        raise UserInputError(
            f"at most {MAX_SKUS_PER_PRODUCT} SKUs per product",
            code="TOO_MANY_SKUS",
            field=["input", "skus"],
        )
    if len(description) > 2000:
        raise UserInputError(
            "description is at most 2000 characters",
            code="INVALID_DESCRIPTION",
            field=["input", "description"],
        )
    tenant = await store_api.get_tenant(session, tenant_id)
    if tenant is None:
        raise UserInputError("unknown tenant", code="TENANT_NOT_FOUND")
    value = ProductInfo(id=new_id(), name=_name(name, ["input", "name"]), description=description)
    seen: set[str] = set()
    new_skus: list[SkuInfo] = []
    for index, item in enumerate(skus):
        path = ["input", "skus", str(index)]
        if not SKU_CODE.match(item.code):
            raise UserInputError(
                "SKU code must be 1-64 letters, digits, '_', '.' or '-'",
                code="INVALID_SKU_CODE",
                field=[*path, "code"],
            )
        if item.code in seen:
            raise UserInputError(
                f"SKU code {item.code!r} appears twice",
                code="SKU_CODE_TAKEN",
                field=[*path, "code"],
            )
        seen.add(item.code)
        if not 0 <= item.price_amount <= MAX_PRICE:
            raise UserInputError(
                f"price must be between 0 and {MAX_PRICE} minor units",
                code="INVALID_PRICE",
                field=[*path, "price"],
            )
        new_skus.append(
            SkuInfo(
                id=new_id(),
                product_id=value.id,
                code=item.code,
                name=_name(item.name, [*path, "name"]),
                price=Money(item.price_amount, tenant.currency),
            )
        )
    now = datetime.now(UTC)
    await repository.insert_product(session, tenant_id, value, now)
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
