"""A tenant's stock settings and per-product deduction strategies."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.stock.dto import DeductionStrategy, StockSettings
from centers.stock.models import ProductStrategy, Setting
from kernel.db import table_of

setting = table_of(Setting)
product_strategy = table_of(ProductStrategy)

# Unpaid orders hold their stock 15 minutes unless the tenant says otherwise.
DEFAULT_SETTINGS = StockSettings(DeductionStrategy.AT_ORDER, 15 * 60)

# One round trip on every placement: the tenant's settings and whether any product
# overrides them (only then are the SKUs' products looked up).
_SETTINGS = sa.text(
    """
    SELECT s.deduction_strategy, s.reservation_ttl_seconds,
           EXISTS (SELECT 1 FROM stock.product_strategy p WHERE p.tenant_id = :tenant_id)
    FROM (SELECT 1) one LEFT JOIN stock.setting s ON s.tenant_id = :tenant_id
    """
)


async def tenant_settings(
    session: AsyncSession, tenant_id: uuid.UUID
) -> tuple[StockSettings, bool]:
    """The tenant's settings (defaults if never saved) and whether products override them."""
    row = (await session.execute(_SETTINGS, {"tenant_id": tenant_id})).one()
    if row[0] is None:
        return DEFAULT_SETTINGS, bool(row[2])
    return StockSettings(DeductionStrategy(row[0]), int(row[1])), bool(row[2])


async def save_settings(session: AsyncSession, tenant_id: uuid.UUID, value: StockSettings) -> None:
    statement = insert(setting).values(
        tenant_id=tenant_id,
        deduction_strategy=value.deduction_strategy.value,
        reservation_ttl_seconds=value.reservation_ttl_seconds,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[setting.c.tenant_id],
            set_={
                "deduction_strategy": statement.excluded.deduction_strategy,
                "reservation_ttl_seconds": statement.excluded.reservation_ttl_seconds,
            },
        )
    )


async def set_product_strategy(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    product_id: uuid.UUID,
    strategy: DeductionStrategy | None,
) -> None:
    """Override the tenant's strategy for one product; ``None`` removes the override."""
    if strategy is None:
        await session.execute(
            sa.delete(product_strategy).where(
                product_strategy.c.tenant_id == tenant_id,
                product_strategy.c.product_id == product_id,
            )
        )
        return
    statement = insert(product_strategy).values(
        tenant_id=tenant_id, product_id=product_id, deduction_strategy=strategy.value
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[product_strategy.c.tenant_id, product_strategy.c.product_id],
            set_={"deduction_strategy": statement.excluded.deduction_strategy},
        )
    )


async def product_strategies(
    session: AsyncSession, tenant_id: uuid.UUID, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, DeductionStrategy]:
    if not product_ids:
        return {}
    rows = await session.execute(
        sa.select(product_strategy.c.product_id, product_strategy.c.deduction_strategy).where(
            product_strategy.c.tenant_id == tenant_id,
            product_strategy.c.product_id.in_(product_ids),
        )
    )
    return {row[0]: DeductionStrategy(row[1]) for row in rows.all()}
