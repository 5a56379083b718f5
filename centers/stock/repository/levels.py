"""Levels, reservations and the movements ledger."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.stock.dto import DeductionStrategy, LevelInfo, MovementInfo, StockSettings
from centers.stock.models import Movement, Reservation, StockLevel
from centers.stock.repository.settings import DEFAULT_SETTINGS
from kernel.db import table_of
from kernel.errors import UserInputError
from kernel.graphql.pagination import PageRequest
from kernel.ids import new_id

level = table_of(StockLevel)
reservation = table_of(Reservation)
movement = table_of(Movement)
_level_columns = (
    level.c.store_id,
    level.c.sku_id,
    level.c.on_hand,
    level.c.reserved,
    level.c.low_threshold,
)

# Locks the levels and, in the same round trip, reads the tenant's deduction settings
# (NULL: the defaults) and whether any product overrides them.
_LOCK_LEVELS = sa.text(
    """
    SELECT l.sku_id, l.on_hand - l.reserved AS available,
           s.deduction_strategy, s.reservation_ttl_seconds,
           EXISTS (SELECT 1 FROM stock.product_strategy p WHERE p.tenant_id = :tenant_id)
             AS overridden
    FROM stock.level l LEFT JOIN stock.setting s ON s.tenant_id = l.tenant_id
    WHERE l.tenant_id = :tenant_id AND l.store_id = :store_id AND l.sku_id = ANY(:sku_ids)
    ORDER BY l.sku_id FOR UPDATE OF l
    """
).bindparams(sa.bindparam("sku_ids", type_=ARRAY(sa.Uuid)))

# One statement reserves every line: held lines (deduct at order) count in ``reserved``
# and write a ledger row; the others (deduct at payment) are only recorded, so the
# payment can re-check and deduct them.
_RESERVE = sa.text(
    """
    WITH wanted AS (
      SELECT * FROM unnest(CAST(:sku_ids AS uuid[]), CAST(:quantities AS int[]),
                           CAST(:held AS boolean[])) AS w(sku_id, qty, held)
    ), taken AS (
      UPDATE stock.level l
      SET reserved = l.reserved + CASE WHEN w.held THEN w.qty ELSE 0 END, updated_at = now()
      FROM wanted w
      WHERE l.tenant_id = :tenant_id AND l.store_id = :store_id AND l.sku_id = w.sku_id
        AND l.on_hand - l.reserved >= w.qty
      RETURNING l.sku_id, w.qty, w.held, l.on_hand - l.reserved AS available, l.low_threshold
    ), kept AS (
      INSERT INTO stock.reservation
        (tenant_id, order_id, sku_id, store_id, quantity, created_at, status, expires_at)
      SELECT CAST(:tenant_id AS uuid), CAST(:order_id AS uuid), sku_id, CAST(:store_id AS uuid),
             qty, now(), CASE WHEN held THEN 'HELD' ELSE 'PENDING' END,
             CASE WHEN held THEN CAST(:expires_at AS timestamptz) END
      FROM taken
    ), logged AS (
      INSERT INTO stock.movement
        (tenant_id, id, store_id, sku_id, on_hand_delta, reserved_delta, reason, source_id, created_at)
      SELECT CAST(:tenant_id AS uuid), gen_random_uuid(), CAST(:store_id AS uuid), sku_id, 0, qty,
             'reserve', CAST(:source_id AS text), now()
      FROM taken WHERE held
    )
    SELECT sku_id, qty, held, available, low_threshold FROM taken
    """
).bindparams(
    sa.bindparam("sku_ids", type_=ARRAY(sa.Uuid)),
    sa.bindparam("quantities", type_=ARRAY(sa.Integer)),
    sa.bindparam("held", type_=ARRAY(sa.Boolean)),
)

_LOCK_RESERVED = sa.text(
    """
    SELECT r.sku_id, r.store_id, r.quantity, r.status, r.bucket FROM stock.level l
    JOIN stock.reservation r
      ON r.tenant_id = l.tenant_id AND r.store_id = l.store_id AND r.sku_id = l.sku_id
    WHERE r.tenant_id = :tenant_id AND r.order_id = :order_id
    ORDER BY l.sku_id FOR UPDATE
    """
)

# Every change to a level after placement goes through here: the level and its ledger
# row change in one statement, and a change that would oversell changes nothing.
_APPLY = sa.text(
    """
    WITH changed AS (
      UPDATE stock.level
      SET on_hand = on_hand + CAST(:dh AS int), reserved = reserved + CAST(:dr AS int),
          updated_at = now()
      WHERE tenant_id = :tenant_id AND store_id = :store_id AND sku_id = :sku_id
        AND on_hand + CAST(:dh AS int) >= reserved + CAST(:dr AS int)
        AND reserved + CAST(:dr AS int) >= 0
      RETURNING store_id, sku_id, on_hand, reserved, low_threshold
    ), logged AS (
      INSERT INTO stock.movement
        (tenant_id, id, store_id, sku_id, on_hand_delta, reserved_delta, reason, source_id, created_at)
      SELECT CAST(:tenant_id AS uuid), CAST(:movement_id AS uuid), store_id, sku_id,
             CAST(:dh AS int), CAST(:dr AS int), CAST(:reason AS text), CAST(:source_id AS text),
             now()
      FROM changed
    )
    SELECT store_id, sku_id, on_hand, reserved, low_threshold FROM changed
    """
)


@dataclass(frozen=True, slots=True)
class Reserved:
    """One SKU an order reserved, with the level's availability after it."""

    sku_id: uuid.UUID
    quantity: int
    held: bool
    available: int
    low_threshold: int | None


@dataclass(frozen=True, slots=True)
class HeldLine:
    """A reservation row of an order (its level row is locked)."""

    sku_id: uuid.UUID
    location_id: uuid.UUID
    quantity: int
    status: str
    bucket: int | None


@dataclass(frozen=True, slots=True)
class Changed:
    """A level after a change."""

    level: LevelInfo

    @property
    def low_threshold(self) -> int | None:
        return self.level.low_threshold


@dataclass(frozen=True, slots=True)
class Locked:
    """What is available of each locked SKU, and the tenant's settings (None: unknown,
    when no level was found)."""

    available: dict[uuid.UUID, int]
    settings: StockSettings | None
    overridden: bool


async def lock_available(
    session: AsyncSession, tenant_id: uuid.UUID, store_id: uuid.UUID, sku_ids: Sequence[uuid.UUID]
) -> Locked:
    """Lock the levels (in SKU order) and return what is available of each, with the
    tenant's deduction settings (defaults if never saved)."""
    rows = (
        await session.execute(
            _LOCK_LEVELS, {"tenant_id": tenant_id, "store_id": store_id, "sku_ids": list(sku_ids)}
        )
    ).all()
    if not rows:
        return Locked({}, None, False)
    first = rows[0]
    settings = (
        StockSettings(DeductionStrategy(first.deduction_strategy), first.reservation_ttl_seconds)
        if first.deduction_strategy is not None
        else DEFAULT_SETTINGS
    )
    return Locked({row.sku_id: row.available for row in rows}, settings, bool(first.overridden))


async def reserve(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    order_id: uuid.UUID,
    quantities: dict[uuid.UUID, int],
    held: dict[uuid.UUID, bool],
    expires_at: datetime,
) -> list[Reserved]:
    """Conditionally reserve every SKU; returns what was reserved."""
    rows = await session.execute(
        _RESERVE,
        {
            "tenant_id": tenant_id,
            "store_id": store_id,
            "order_id": order_id,
            "source_id": str(order_id),
            "sku_ids": list(quantities),
            "quantities": list(quantities.values()),
            "held": [held[sku] for sku in quantities],
            "expires_at": expires_at,
        },
    )
    return [Reserved(*row) for row in rows.all()]


async def lock_order_reservations(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> list[HeldLine]:
    """The order's reservations, with their level rows locked in SKU order."""
    rows = await session.execute(_LOCK_RESERVED, {"tenant_id": tenant_id, "order_id": order_id})
    return [HeldLine(*row) for row in rows.all()]


def _reservation_key(
    tenant_id: uuid.UUID, order_id: uuid.UUID, sku_id: uuid.UUID
) -> sa.ColumnElement[bool]:
    return sa.and_(
        reservation.c.tenant_id == tenant_id,
        reservation.c.order_id == order_id,
        reservation.c.sku_id == sku_id,
    )


async def set_reservation_status(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    sku_id: uuid.UUID,
    status: str,
) -> None:
    await session.execute(
        sa.update(reservation)
        .where(_reservation_key(tenant_id, order_id, sku_id))
        .values(status=status)
    )


async def delete_reservation(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, sku_id: uuid.UUID
) -> None:
    await session.execute(
        sa.delete(reservation).where(_reservation_key(tenant_id, order_id, sku_id))
    )


async def apply_change(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    sku_id: uuid.UUID,
    *,
    on_hand_delta: int,
    reserved_delta: int,
    reason: str,
    source_id: str,
    movement_id: uuid.UUID | None = None,
) -> Changed | None:
    """Change a level and write its ledger row in one statement; ``None`` (nothing
    written) if the level is missing or the change would oversell."""
    row = (
        await session.execute(
            _APPLY,
            {
                "tenant_id": tenant_id,
                "store_id": location_id,
                "sku_id": sku_id,
                "dh": on_hand_delta,
                "dr": reserved_delta,
                "reason": reason,
                "source_id": source_id,
                "movement_id": movement_id or new_id(),
            },
        )
    ).first()
    return Changed(LevelInfo(*row)) if row else None


async def ensure_level(
    session: AsyncSession, tenant_id: uuid.UUID, store_id: uuid.UUID, sku_id: uuid.UUID
) -> None:
    await session.execute(
        insert(level)
        .values(
            tenant_id=tenant_id,
            store_id=store_id,
            sku_id=sku_id,
            on_hand=0,
            reserved=0,
            updated_at=sa.func.now(),
        )
        .on_conflict_do_nothing()
    )


@dataclass(frozen=True, slots=True)
class LevelState:
    level: LevelInfo
    source_version: int | None


async def lock_level(
    session: AsyncSession, tenant_id: uuid.UUID, location_id: uuid.UUID, sku_id: uuid.UUID
) -> LevelState | None:
    """Lock one level row and read it with the ERP version last applied."""
    row = (
        await session.execute(
            sa.select(*_level_columns, level.c.source_version)
            .where(
                level.c.tenant_id == tenant_id,
                level.c.store_id == location_id,
                level.c.sku_id == sku_id,
            )
            .with_for_update()
        )
    ).first()
    return LevelState(LevelInfo(*row[:5]), row[5]) if row else None


async def set_source_version(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    sku_id: uuid.UUID,
    version: int,
    source: str,
) -> None:
    await session.execute(
        sa.update(level)
        .where(
            level.c.tenant_id == tenant_id,
            level.c.store_id == location_id,
            level.c.sku_id == sku_id,
        )
        .values(source_version=version, source=source)
    )


async def set_low_threshold(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    sku_id: uuid.UUID,
    threshold: int | None,
) -> LevelInfo | None:
    row = (
        await session.execute(
            sa.update(level)
            .where(
                level.c.tenant_id == tenant_id,
                level.c.store_id == location_id,
                level.c.sku_id == sku_id,
            )
            .values(low_threshold=threshold)
            .returning(*_level_columns)
        )
    ).first()
    return LevelInfo(*row) if row else None


async def levels_by_keys(
    session: AsyncSession, tenant_id: uuid.UUID, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> list[LevelInfo]:
    """Levels for (location_id, sku_id) pairs."""
    if not keys:
        return []
    rows = await session.execute(
        sa.select(*_level_columns).where(
            level.c.tenant_id == tenant_id,
            sa.tuple_(level.c.store_id, level.c.sku_id).in_(list(keys)),
        )
    )
    return [LevelInfo(*row) for row in rows.all()]


# Read on every placement (the split rule): built once, one prepared statement whatever
# the number of SKUs.
_LEVELS_BY_SKUS = (
    sa.select(*_level_columns)
    .where(
        level.c.tenant_id == sa.bindparam("tenant_id"),
        level.c.sku_id == sa.any_(sa.bindparam("ids", type_=ARRAY(sa.Uuid))),
    )
    .order_by(level.c.sku_id, level.c.store_id)
)


async def levels_by_skus(
    session: AsyncSession, tenant_id: uuid.UUID, sku_ids: Sequence[uuid.UUID]
) -> list[LevelInfo]:
    if not sku_ids:
        return []
    rows = await session.execute(_LEVELS_BY_SKUS, {"tenant_id": tenant_id, "ids": list(sku_ids)})
    return [LevelInfo(*row) for row in rows.all()]


async def list_levels(
    session: AsyncSession, tenant_id: uuid.UUID, store_id: uuid.UUID, page: PageRequest
) -> list[LevelInfo]:
    query = sa.select(*_level_columns).where(
        level.c.tenant_id == tenant_id, level.c.store_id == store_id
    )
    after = page.after_id()
    if after is not None:
        query = query.where(level.c.sku_id > after)
    rows = await session.execute(query.order_by(level.c.sku_id).limit(page.limit))
    return [LevelInfo(*row) for row in rows.all()]


async def list_movements(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    sku_id: uuid.UUID,
    page: PageRequest,
) -> list[MovementInfo]:
    """The ledger of one level, newest first (cursor: created_at, id)."""
    query = sa.select(
        movement.c.id,
        movement.c.store_id,
        movement.c.sku_id,
        movement.c.on_hand_delta,
        movement.c.reserved_delta,
        movement.c.reason,
        movement.c.source_id,
        movement.c.created_at,
    ).where(
        movement.c.tenant_id == tenant_id,
        movement.c.store_id == location_id,
        movement.c.sku_id == sku_id,
    )
    if page.after:
        try:
            at, last = datetime.fromisoformat(str(page.after[0])), uuid.UUID(str(page.after[1]))
        except (ValueError, IndexError):
            raise UserInputError(
                "malformed cursor", code="INVALID_CURSOR", field=["after"]
            ) from None
        query = query.where(sa.tuple_(movement.c.created_at, movement.c.id) < (at, last))
    rows = await session.execute(
        query.order_by(movement.c.created_at.desc(), movement.c.id.desc()).limit(page.limit)
    )
    return [MovementInfo(*row) for row in rows.all()]
