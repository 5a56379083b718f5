"""The stock center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.stock import repository, service
from centers.stock.dto import (
    DeductionStrategy,
    FlashClaim,
    LevelInfo,
    LocationInfo,
    LocationKind,
    ReserveLine,
    StockSettings,
    SyncResult,
)
from kernel.batch import Batch, Column

__all__ = [
    "DeductionStrategy",
    "FlashClaim",
    "LevelInfo",
    "LocationInfo",
    "LocationKind",
    "ReserveLine",
    "StockSettings",
    "SyncResult",
    "adjust",
    "available_at",
    "available_at_in",
    "close_flash_sale",
    "confirm_for_order",
    "flash_reserve",
    "get_levels",
    "get_locations",
    "list_locations",
    "open_flash_sale",
    "release",
    "reserve",
    "sync_level",
]


async def reserve(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    order_id: uuid.UUID,
    lines: Sequence[ReserveLine],
) -> None:
    """Reserve all lines at the location (a store, or a warehouse) for the order, or
    raise ``OUT_OF_STOCK`` and reserve nothing. Runs inside the caller's transaction,
    so it commits with the order.

    SKUs deducted at order (the default strategy) are held until payment
    (``confirm_for_order``), cancellation (``release``) or the tenant's reservation TTL,
    after which a durable job ends the hold. SKUs deducted at payment are only checked
    and recorded here.
    """
    await service.reserve(session, tenant_id, store_id, order_id, lines)


async def release(session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID) -> None:
    """Return everything held for the order to available stock and forget its undeducted
    lines (idempotent). Lines already deducted at payment stay deducted."""
    await service.release(session, tenant_id, order_id)


async def confirm_for_order(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> None:
    """At payment: deduct the order's lines from on hand (idempotent).

    Held lines are deducted as they are. Lines deducted at payment, or whose hold
    expired, are re-checked first: if any is no longer available this raises
    ``UserInputError(code="OUT_OF_STOCK")`` and the caller's transaction must roll back
    (refund or ask the buyer). Call it in the same transaction that marks the order paid.
    """
    await service.confirm_for_order(session, tenant_id, order_id)


async def flash_reserve(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    location_id: uuid.UUID,
    sku_id: uuid.UUID,
    order_id: uuid.UUID,
    quantity: int = 1,
    ttl_seconds: int | None = None,
) -> FlashClaim:
    """Hold flash-sale units of a hot SKU for an order (the sale must be open, see
    ``openFlashSale``); raises ``OUT_OF_STOCK`` when sold out, ``INVALID_QUANTITY``,
    ``INVALID_TTL``.

    The hold behaves like ``reserve``'s: ``confirm_for_order`` deducts it, ``release``
    or the TTL job (after ``ttl_seconds``, default the tenant's reservation TTL; flash
    sales often pay within minutes) returns it to the sale.
    """
    return await service.flash_reserve(
        session,
        tenant_id,
        location_id=location_id,
        sku_id=sku_id,
        order_id=order_id,
        quantity=quantity,
        ttl_seconds=ttl_seconds,
    )


async def open_flash_sale(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    location_id: uuid.UUID,
    sku_id: uuid.UUID,
    units: int,
    buckets: int = 16,
) -> LevelInfo:
    """Set ``units`` of available stock aside for a flash sale of the SKU at the location,
    spread over ``buckets`` rows (adds to a sale already open). The promotion center's
    flash-sale activity opens one; ``openFlashSale`` is the admin mutation. Raises
    ``INVALID_UNITS``, ``INVALID_BUCKETS``, ``LOCATION_NOT_FOUND``, ``SKU_NOT_FOUND``,
    ``INSUFFICIENT_STOCK``."""
    return await service.open_flash_sale(
        session, tenant_id, location_id=location_id, sku_id=sku_id, units=units, buckets=buckets
    )


async def close_flash_sale(
    session: AsyncSession, tenant_id: uuid.UUID, *, location_id: uuid.UUID, sku_id: uuid.UUID
) -> LevelInfo:
    """End the sale: unclaimed units return to available stock; claims stay held.
    Raises ``NO_FLASH_SALE``."""
    return await service.close_flash_sale(
        session, tenant_id, location_id=location_id, sku_id=sku_id
    )


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
    """Change on-hand stock (goods received, counted, wasted) at a store or warehouse.
    Raises ``UserInputError``: ``INVALID_DELTA``, ``INVALID_REASON``, ``STORE_NOT_FOUND``,
    ``SKU_NOT_FOUND``, ``INSUFFICIENT_STOCK``, ``IDEMPOTENCY_KEY_REUSED``."""
    return await service.adjust(
        session,
        tenant_id,
        idempotency_key=idempotency_key,
        store_id=store_id,
        sku_id=sku_id,
        delta=delta,
        reason=reason,
    )


async def sync_level(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    sku_id: uuid.UUID,
    on_hand: int,
    source_version: int,
    source: str,
) -> SyncResult:
    """Apply an on-hand count from the tenant's ERP (库存同步), idempotent and ordered.

    A count whose ``source_version`` is not newer than the last one applied to the level
    changes nothing (``applied=False``), so replays and late, out-of-order messages never
    overwrite a newer count. Reservations are kept; a count below them is reported as
    ``shortfall``. Raises ``UserInputError``: ``INVALID_ON_HAND``,
    ``INVALID_SOURCE_VERSION``, ``INVALID_SOURCE``, ``LOCATION_NOT_FOUND``,
    ``SKU_NOT_FOUND``.
    """
    return await service.sync_level(
        session,
        tenant_id,
        location_id=location_id,
        sku_id=sku_id,
        on_hand=on_hand,
        source_version=source_version,
        source=source,
    )


async def get_levels(
    session: AsyncSession, tenant_id: uuid.UUID, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], LevelInfo]:
    """Levels by ``(location_id, sku_id)``; pairs never stocked are absent."""
    found = await repository.levels_by_keys(session, tenant_id, keys)
    return {(f.store_id, f.sku_id): f for f in found}


async def available_at(
    session: AsyncSession, tenant_id: uuid.UUID, sku_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[uuid.UUID, int]]:
    """For each location holding any of ``sku_ids``: available units per SKU (≥ 0)."""
    found: dict[uuid.UUID, dict[uuid.UUID, int]] = {}
    for level in await repository.levels_by_skus(session, tenant_id, list(set(sku_ids))):
        found.setdefault(level.store_id, {})[level.sku_id] = max(level.available, 0)
    return found


def available_at_in(
    batch: Batch, tenant_id: uuid.UUID, sku_ids: Sequence[uuid.UUID]
) -> Column[dict[uuid.UUID, dict[uuid.UUID, int]]]:
    """``available_at`` read as a column of ``batch`` (``kernel.batch``: one round trip
    with the caller's other reads). No lock: the reservation checks again."""
    return repository.available_at_in(batch, tenant_id, sku_ids)


async def list_locations(session: AsyncSession, tenant_id: uuid.UUID) -> list[LocationInfo]:
    """The tenant's stock locations (registered stores and warehouses), by id."""
    return await repository.list_locations(session, tenant_id)


async def get_locations(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, LocationInfo]:
    """The tenant's locations among ``ids``; others are absent."""
    return {x.id: x for x in await repository.locations_by_ids(session, tenant_id, ids)}
