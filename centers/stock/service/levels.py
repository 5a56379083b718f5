"""On-hand changes: adjustments, ERP counts, low-stock thresholds."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import api as product_api
from centers.stock import repository
from centers.stock.dto import LevelInfo, SyncResult
from centers.stock.events import StockAdjusted, StockLow
from centers.store import api as store_api
from kernel import idempotency
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.outbox import emit
from kernel.text import required_text

# One adjustment moves at most this many units: a typo guard, not a business rule.
MAX_ADJUSTMENT = 1_000_000
# An ERP count above this is a unit mix-up (grams for pieces), not stock.
MAX_ON_HAND = 100_000_000
SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


async def notify_if_low(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    sku_id: uuid.UUID,
    *,
    before: int,
    after: int,
    threshold: int | None,
) -> None:
    """Emit ``stock.low`` when available went from above the threshold to at or below it."""
    if threshold is not None and before > threshold >= after:
        await emit(
            session,
            tenant_id,
            StockLow(location_id=location_id, sku_id=sku_id, available=after, threshold=threshold),
        )


async def notify_change(
    session: AsyncSession, tenant_id: uuid.UUID, before: int, level: LevelInfo
) -> None:
    """``notify_if_low`` for a level just changed, given its availability before."""
    await notify_if_low(
        session,
        tenant_id,
        level.store_id,
        level.sku_id,
        before=before,
        after=level.available,
        threshold=level.low_threshold,
    )


async def check_location(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    *,
    code: str,
    field: Sequence[str],
) -> None:
    """A location is one of the tenant's warehouses or stores."""
    if await repository.location_exists(session, tenant_id, location_id):
        return
    if await store_api.get_store(session, tenant_id, location_id) is None:
        raise UserInputError("store or warehouse not found", code=code, field=field)


async def check_sku(
    session: AsyncSession, tenant_id: uuid.UUID, sku_id: uuid.UUID, field: Sequence[str]
) -> None:
    if sku_id not in await product_api.get_skus(session, tenant_id, [sku_id]):
        raise UserInputError("SKU not found", code="SKU_NOT_FOUND", field=field)


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
    """Receive (+) or remove (−) on-hand units; never below what is reserved."""
    if delta == 0 or abs(delta) > MAX_ADJUSTMENT:
        raise UserInputError(
            f"delta must be non-zero and at most {MAX_ADJUSTMENT} units",
            code="INVALID_DELTA",
            field=["input", "delta"],
        )
    reason = required_text(
        reason, label="reason", max_length=64, code="INVALID_REASON", field=["input", "reason"]
    )
    await check_location(
        session, tenant_id, store_id, code="STORE_NOT_FOUND", field=["input", "storeId"]
    )
    await check_sku(session, tenant_id, sku_id, ["input", "skuId"])
    movement_id = new_id()
    claim = await idempotency.claim(
        session,
        tenant_id,
        "stock.adjust",
        idempotency_key,
        {"store": store_id, "sku": sku_id, "delta": delta, "reason": reason},
        movement_id,
    )
    if claim.replayed:
        found = await repository.levels_by_keys(session, tenant_id, [(store_id, sku_id)])
        return found[0]
    await repository.ensure_level(session, tenant_id, store_id, sku_id)
    changed = await repository.apply_change(
        session,
        tenant_id,
        store_id,
        sku_id,
        on_hand_delta=delta,
        reserved_delta=0,
        reason=reason,
        source_id=idempotency_key,
        movement_id=movement_id,
    )
    if changed is None:
        raise UserInputError(
            "on-hand stock cannot fall below what is reserved",
            code="INSUFFICIENT_STOCK",
            field=["input", "delta"],
        )
    await emit(
        session,
        tenant_id,
        StockAdjusted(
            store_id=store_id,
            sku_id=sku_id,
            delta=delta,
            on_hand=changed.level.on_hand,
            reason=reason,
            movement_id=movement_id,
        ),
    )
    await notify_change(session, tenant_id, changed.level.available - delta, changed.level)
    return changed.level


async def sync_level(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    location_id: uuid.UUID,
    sku_id: uuid.UUID,
    on_hand: int,
    source_version: int,
    source: str,
    field: Sequence[str] = ("input",),
) -> SyncResult:
    """Apply the ERP's on-hand count if ``source_version`` is newer than the last applied.

    Idempotent and ordered: the same or an older version changes nothing. Reserved
    units stay reserved; if the count is below them, on hand stays at ``reserved`` and
    the difference is reported as ``shortfall`` (the level never oversells).
    """
    path = list(field)
    if not 0 <= on_hand <= MAX_ON_HAND:
        raise UserInputError(
            f"onHand must be between 0 and {MAX_ON_HAND}",
            code="INVALID_ON_HAND",
            field=[*path, "onHand"],
        )
    if source_version < 0:
        raise UserInputError(
            "sourceVersion must not be negative",
            code="INVALID_SOURCE_VERSION",
            field=[*path, "sourceVersion"],
        )
    if not SOURCE.match(source):
        raise UserInputError(
            "source must be 1-64 letters, digits, '_', '.', ':' or '-'",
            code="INVALID_SOURCE",
            field=[*path, "source"],
        )
    await check_location(
        session, tenant_id, location_id, code="LOCATION_NOT_FOUND", field=[*path, "locationId"]
    )
    await check_sku(session, tenant_id, sku_id, [*path, "skuId"])
    await repository.ensure_level(session, tenant_id, location_id, sku_id)
    state = await repository.lock_level(session, tenant_id, location_id, sku_id)
    if state is None:  # created just above, in this transaction
        raise RuntimeError("level vanished")
    current = state.level
    if state.source_version is not None and source_version <= state.source_version:
        return SyncResult(False, current, state.source_version, 0)
    target = max(on_hand, current.reserved)
    level = current
    if target != current.on_hand:
        changed = await repository.apply_change(
            session,
            tenant_id,
            location_id,
            sku_id,
            on_hand_delta=target - current.on_hand,
            reserved_delta=0,
            reason="erp_sync",
            source_id=f"{source}:{source_version}",
        )
        if changed is None:  # the row is locked and target >= reserved
            raise RuntimeError("ERP count could not be applied")
        level = changed.level
        await notify_change(session, tenant_id, current.available, level)
    await repository.set_source_version(
        session, tenant_id, location_id, sku_id, source_version, source
    )
    return SyncResult(True, level, source_version, max(current.reserved - on_hand, 0))


async def set_low_threshold(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    location_id: uuid.UUID,
    sku_id: uuid.UUID,
    threshold: int | None,
) -> LevelInfo:
    """Alert (``stock.low``) when available falls to or below ``threshold``; ``None`` stops it."""
    if threshold is not None and not 0 <= threshold <= MAX_ON_HAND:
        raise UserInputError(
            f"threshold must be between 0 and {MAX_ON_HAND}",
            code="INVALID_THRESHOLD",
            field=["input", "threshold"],
        )
    await check_location(
        session, tenant_id, location_id, code="LOCATION_NOT_FOUND", field=["input", "locationId"]
    )
    await check_sku(session, tenant_id, sku_id, ["input", "skuId"])
    await repository.ensure_level(session, tenant_id, location_id, sku_id)
    level = await repository.set_low_threshold(session, tenant_id, location_id, sku_id, threshold)
    if level is None:
        raise RuntimeError("level vanished")
    return level
