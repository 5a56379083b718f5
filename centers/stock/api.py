"""The stock center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.stock import repository, service
from centers.stock.dto import LevelInfo, ReserveLine

__all__ = ["LevelInfo", "ReserveLine", "adjust", "get_levels", "release", "reserve"]


async def reserve(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    order_id: uuid.UUID,
    lines: Sequence[ReserveLine],
) -> None:
    """Reserve all lines at the store for the order, or raise ``OUT_OF_STOCK`` and reserve
    nothing. Runs inside the caller's transaction, so it commits with the order."""
    await service.reserve(session, tenant_id, store_id, order_id, lines)


async def release(session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID) -> None:
    """Return everything reserved for the order to available stock (idempotent)."""
    await service.release(session, tenant_id, order_id)


async def adjust(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    idempotency_key: str,
    store_id: uuid.UUID,
    sku_id: uuid.UUID,
    delta: int,
    reason: str,
) -> LevelInfo:
    """Change on-hand stock (goods received, counted, wasted). Raises ``UserInputError``:
    ``INVALID_DELTA``, ``INVALID_REASON``, ``STORE_NOT_FOUND``, ``SKU_NOT_FOUND``,
    ``INSUFFICIENT_STOCK``, ``IDEMPOTENCY_KEY_REUSED``."""
    return await service.adjust(
        session,
        tenant_id,
        idempotency_key=idempotency_key,
        store_id=store_id,
        sku_id=sku_id,
        delta=delta,
        reason=reason,
    )


async def get_levels(
    session: AsyncSession, tenant_id: uuid.UUID, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], LevelInfo]:
    """Levels by ``(store_id, sku_id)``; pairs never stocked are absent."""
    found = await repository.levels_by_keys(session, tenant_id, keys)
    return {(f.store_id, f.sku_id): f for f in found}
