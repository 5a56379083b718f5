"""A tenant's deduction strategy and reservation TTL, and per-product overrides."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import api as product_api
from centers.stock import repository
from centers.stock.dto import DeductionStrategy, StockSettings
from kernel.errors import UserInputError

MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 7 * 24 * 3600


async def get_settings(session: AsyncSession, tenant_id: uuid.UUID) -> StockSettings:
    return (await repository.tenant_settings(session, tenant_id))[0]


async def save_settings(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    deduction_strategy: DeductionStrategy,
    reservation_ttl_seconds: int,
) -> StockSettings:
    if not MIN_TTL_SECONDS <= reservation_ttl_seconds <= MAX_TTL_SECONDS:
        raise UserInputError(
            f"reservationTtlSeconds must be between {MIN_TTL_SECONDS} and {MAX_TTL_SECONDS}",
            code="INVALID_TTL",
            field=["input", "reservationTtlSeconds"],
        )
    value = StockSettings(deduction_strategy, reservation_ttl_seconds)
    await repository.save_settings(session, tenant_id, value)
    return value


async def set_product_strategy(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    product_id: uuid.UUID,
    strategy: DeductionStrategy | None,
) -> None:
    if not await product_api.get_products(session, tenant_id, [product_id]):
        raise UserInputError(
            "product not found", code="PRODUCT_NOT_FOUND", field=["input", "productId"]
        )
    await repository.set_product_strategy(session, tenant_id, product_id, strategy)
