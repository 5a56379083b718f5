"""Flash sales of one hot SKU (秒杀): many buyers, few units, no oversell.

Opening a sale reserves its units on the level (one ledger row) and spreads them over
buckets. A buyer's claim is one statement on one bucket chosen from a random start,
skipping buckets other buyers hold; only when no free-looking bucket is found does it
wait, so "sold out" is said only when no bucket has the units. Claims are ordinary HELD
reservations of the order (released, expired or deducted like any other), so the
level's ``reserved`` always equals held reservations plus units left in buckets.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from centers.stock import repository
from centers.stock.dto import FlashClaim, LevelInfo
from centers.stock.service.levels import check_location, check_sku, notify_change
from centers.stock.service.reservations import EXPIRY_JOB
from kernel.errors import UserInputError
from kernel.jobs import schedule_job

MAX_BUCKETS = 64
DEFAULT_BUCKETS = 16
# A flash-sale order takes a few units at most; bigger buys are not flash sales.
MAX_CLAIM = 10


async def open_flash_sale(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    location_id: uuid.UUID,
    sku_id: uuid.UUID,
    units: int,
    buckets: int = DEFAULT_BUCKETS,
) -> LevelInfo:
    """Set ``units`` of available stock aside for a flash sale (adds to an open sale)."""
    if units < 1:
        raise UserInputError(
            "units must be positive", code="INVALID_UNITS", field=["input", "units"]
        )
    if not 1 <= buckets <= MAX_BUCKETS:
        raise UserInputError(
            f"buckets must be between 1 and {MAX_BUCKETS}",
            code="INVALID_BUCKETS",
            field=["input", "buckets"],
        )
    await check_location(
        session, tenant_id, location_id, code="LOCATION_NOT_FOUND", field=["input", "locationId"]
    )
    await check_sku(session, tenant_id, sku_id, ["input", "skuId"])
    existing = await repository.bucket_totals(session, tenant_id, location_id, sku_id)
    count = existing[0] if existing else buckets
    changed = await repository.apply_change(
        session,
        tenant_id,
        location_id,
        sku_id,
        on_hand_delta=0,
        reserved_delta=units,
        reason="flash_open",
        source_id=f"flash:{sku_id}",
    )
    if changed is None:
        raise UserInputError(
            "not that many units available", code="INSUFFICIENT_STOCK", field=["input", "units"]
        )
    await notify_change(session, tenant_id, changed.level.available + units, changed.level)
    share, extra = divmod(units, count)
    await repository.open_buckets(
        session,
        tenant_id,
        location_id,
        sku_id,
        [share + (1 if index < extra else 0) for index in range(count)],
    )
    return changed.level


async def close_flash_sale(
    session: AsyncSession, tenant_id: uuid.UUID, *, location_id: uuid.UUID, sku_id: uuid.UUID
) -> LevelInfo:
    """End the sale: units no buyer claimed return to available stock."""
    await repository.lock_level(session, tenant_id, location_id, sku_id)
    left = await repository.close_buckets(session, tenant_id, location_id, sku_id)
    if left is None:
        raise UserInputError(
            "no flash sale is open for this SKU here",
            code="NO_FLASH_SALE",
            field=["input", "skuId"],
        )
    if left:
        changed = await repository.apply_change(
            session,
            tenant_id,
            location_id,
            sku_id,
            on_hand_delta=0,
            reserved_delta=-left,
            reason="flash_close",
            source_id=f"flash:{sku_id}",
        )
        if changed is None:
            raise RuntimeError("flash units missing from the level")
        return changed.level
    found = await repository.levels_by_keys(session, tenant_id, [(location_id, sku_id)])
    return found[0]


async def flash_units_left(
    session: AsyncSession, tenant_id: uuid.UUID, location_id: uuid.UUID, sku_id: uuid.UUID
) -> int | None:
    totals = await repository.bucket_totals(session, tenant_id, location_id, sku_id)
    return totals[1] if totals else None


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
    """Hold ``quantity`` flash-sale units for the order, or raise ``OUT_OF_STOCK``; the hold
    lasts ``ttl_seconds`` (default: the tenant's reservation TTL)."""
    if not 1 <= quantity <= MAX_CLAIM:
        raise UserInputError(
            f"a flash-sale order takes 1 to {MAX_CLAIM} units",
            code="INVALID_QUANTITY",
            field=["input", "quantity"],
        )
    if ttl_seconds is None:
        ttl_seconds = (await repository.tenant_settings(session, tenant_id))[
            0
        ].reservation_ttl_seconds
    elif not 60 <= ttl_seconds <= 7 * 24 * 3600:
        raise UserInputError(
            "a hold lasts 60 seconds to 7 days", code="INVALID_TTL", field=["input", "ttlSeconds"]
        )
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
    bucket = await repository.claim_bucket(
        session,
        tenant_id,
        location_id,
        sku_id,
        order_id,
        quantity,
        secrets.randbelow(MAX_BUCKETS),
        expires_at,
    )
    if bucket is None:
        raise UserInputError("sold out", code="OUT_OF_STOCK", field=["input", "quantity"])
    await schedule_job(
        session, tenant_id, EXPIRY_JOB, str(order_id), expires_at, {"order_id": str(order_id)}
    )
    return FlashClaim(order_id=order_id, sku_id=sku_id, quantity=quantity, bucket=bucket)
