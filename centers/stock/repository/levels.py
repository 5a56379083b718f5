"""Levels, reservations and the movements ledger."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.stock.dto import LevelInfo, MovementInfo
from centers.stock.models import Movement, Reservation, StockLevel
from centers.stock.repository.settings import DEFAULT_SETTINGS
from kernel import prepared
from kernel.batch import Batch, Column
from kernel.db import table_of
from kernel.errors import UserInputError
from kernel.graphql.pagination import PageRequest
from kernel.ids import new_id
from kernel.jobs import schedule_sql

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

# Placement's reservation in ONE statement, the last before COMMIT: lock the levels in
# (SKU, location) order, decide each line's strategy (the tenant's settings, unless its
# product overrides them), and only if every line is available reserve them all, record
# the reservations and ledger rows, and schedule the holds' expiry. So the hot rows stay
# locked for this round trip and the commit. The UPDATE runs after every lock is taken
# (the ``enough`` init plan reads all of ``locked`` first) and re-checks availability on
# the row versions it locked (READ COMMITTED re-evaluates an updated row).
_RESERVE_ALL = prepared.Statement(
    f"""
    WITH wanted AS (
      SELECT * FROM unnest($4::uuid[], $5::uuid[], $6::int[], $7::uuid[])
        AS w(store_id, sku_id, qty, product_id)
    ), setting AS MATERIALIZED (
      SELECT coalesce(s.deduction_strategy, $10::text) AS strategy,
             coalesce(s.reservation_ttl_seconds, $11::int) AS ttl
      FROM (SELECT 1) one LEFT JOIN stock.setting s ON s.tenant_id = $1
    ), locked AS MATERIALIZED (
      SELECT l.store_id, l.sku_id, l.on_hand - l.reserved AS available
      FROM stock.level l JOIN wanted w ON w.store_id = l.store_id AND w.sku_id = l.sku_id
      WHERE l.tenant_id = $1
      ORDER BY l.sku_id, l.store_id FOR UPDATE OF l
    ), plan AS (
      SELECT k.store_id, k.sku_id, w.qty, k.available,
             coalesce(p.deduction_strategy, s.strategy) = 'AT_ORDER' AS held
      FROM locked k JOIN wanted w ON w.store_id = k.store_id AND w.sku_id = k.sku_id
      CROSS JOIN setting s
      LEFT JOIN stock.product_strategy p ON p.tenant_id = $1 AND p.product_id = w.product_id
    ), enough AS (
      SELECT count(*) = cardinality($5::uuid[]) AND coalesce(bool_and(available >= qty), false)
        AS ok
      FROM plan
    ), taken AS (
      UPDATE stock.level l
      SET reserved = l.reserved + CASE WHEN p.held THEN p.qty ELSE 0 END, updated_at = now()
      FROM plan p
      WHERE (SELECT ok FROM enough) AND l.tenant_id = $1 AND l.store_id = p.store_id
        AND l.sku_id = p.sku_id AND l.on_hand - l.reserved >= p.qty
      RETURNING l.store_id, l.sku_id, p.qty, p.held, l.on_hand - l.reserved AS available,
                l.low_threshold
    ), due AS (
      SELECT $9::timestamptz + make_interval(secs => ttl) AS expires_at FROM setting
    ), kept AS (
      INSERT INTO stock.reservation
        (tenant_id, order_id, sku_id, store_id, quantity, created_at, status, expires_at)
      SELECT $1::uuid, $2::uuid, sku_id, store_id, qty, now(), CASE WHEN held THEN 'HELD' ELSE 'PENDING' END,
             CASE WHEN held THEN (SELECT expires_at FROM due) END
      FROM taken
    ), logged AS (
      INSERT INTO stock.movement
        (tenant_id, id, store_id, sku_id, on_hand_delta, reserved_delta, reason, source_id, created_at)
      SELECT $1::uuid, gen_random_uuid(), store_id, sku_id, 0, qty, 'reserve', $2::text, now()
      FROM taken WHERE held
    ), expiry AS (
      {
        schedule_sql(
            tenant_id="$1::uuid",
            job_id="$3::uuid",
            kind="$8::text",
            key="$2::text",
            payload="json_build_object('order_id', $2::text)",
            due_at="(SELECT expires_at FROM due)",
            created_at="$9",
            when="EXISTS (SELECT 1 FROM taken WHERE held)",
        )
    }
    )
    SELECT w.store_id, w.sku_id, coalesce(k.available, 0) AS before,
           t.sku_id IS NOT NULL AS taken, t.held, t.available, t.low_threshold
    FROM wanted w
    LEFT JOIN locked k ON k.store_id = w.store_id AND k.sku_id = w.sku_id
    LEFT JOIN taken t ON t.store_id = w.store_id AND t.sku_id = w.sku_id
    """  # noqa: S608 -- built at import from constants; values are $n parameters
)


@dataclass(frozen=True, slots=True)
class Wanted:
    """One SKU to reserve at one location (quantities summed), with its product for
    the product's deduction-strategy override."""

    location_id: uuid.UUID
    sku_id: uuid.UUID
    quantity: int
    product_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the reservation statement did for one wanted SKU: what was available when
    it was locked, and whether it was reserved (all are, or none)."""

    location_id: uuid.UUID
    sku_id: uuid.UUID
    available_before: int
    taken: bool
    held: bool
    available_after: int
    low_threshold: int | None


async def reserve_all(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    wanted: Sequence[Wanted],
    *,
    expiry_kind: str,
    now: datetime,
) -> list[Outcome]:
    """Lock, check and reserve every wanted SKU in one statement (all or nothing), and
    schedule ``expiry_kind`` for the order when anything is held."""
    rows = await prepared.fetch(
        session,
        _RESERVE_ALL,
        tenant_id,
        order_id,
        new_id(),
        [w.location_id for w in wanted],
        [w.sku_id for w in wanted],
        [w.quantity for w in wanted],
        [w.product_id for w in wanted],
        expiry_kind,
        now,
        DEFAULT_SETTINGS.deduction_strategy.value,
        DEFAULT_SETTINGS.reservation_ttl_seconds,
    )
    return [
        Outcome(
            location_id=row["store_id"],
            sku_id=row["sku_id"],
            available_before=row["before"],
            taken=row["taken"],
            held=bool(row["held"]),
            available_after=row["available"] if row["taken"] else row["before"],
            low_threshold=row["low_threshold"],
        )
        for row in rows
    ]


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
    stores, skus = zip(*keys, strict=True)
    rows = await prepared.fetch(session, _LEVELS_BY_KEYS, tenant_id, list(stores), list(skus))
    return [LevelInfo(*row) for row in rows]


# Read on every menu page (each SKU's stock at the store): straight on the connection.
_LEVELS_BY_KEYS = prepared.Statement(
    "SELECT store_id, sku_id, on_hand, reserved, low_threshold FROM stock.level "
    "WHERE tenant_id = $1 AND (store_id, sku_id) IN "
    "(SELECT * FROM unnest($2::uuid[], $3::uuid[]))"
)


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


_AVAILABLE_JSON = (
    "SELECT json_agg(json_build_array(store_id, sku_id, on_hand - reserved)"
    " ORDER BY sku_id, store_id) FROM stock.level WHERE tenant_id = {} AND sku_id = ANY({})"
)


def available_at_in(
    batch: Batch, tenant_id: uuid.UUID, sku_ids: Sequence[uuid.UUID]
) -> Column[dict[uuid.UUID, dict[uuid.UUID, int]]]:
    """``available_at`` as a column of ``batch``: location → SKU → available (≥ 0)."""

    def decode(value: Any) -> dict[uuid.UUID, dict[uuid.UUID, int]]:
        found: dict[uuid.UUID, dict[uuid.UUID, int]] = {}
        for store_id, sku_id, available in value or ():
            found.setdefault(uuid.UUID(store_id), {})[uuid.UUID(sku_id)] = max(available, 0)
        return found

    return batch.column(
        batch.fresh("available_at"),
        _AVAILABLE_JSON.format(
            batch.arg(tenant_id, "uuid"), batch.arg(list(set(sku_ids)), "uuid[]")
        ),
        decode,
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
