"""Every query of the stock center; tenant scoping lives here and only here.

Rows are always locked in SKU order (``ORDER BY sku_id FOR UPDATE``) before they
change, so concurrent orders that share SKUs queue instead of deadlocking.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.stock.dto import LevelInfo
from centers.stock.models import StockLevel
from kernel.db import table_of
from kernel.graphql.pagination import PageRequest

level = table_of(StockLevel)
_level_columns = (level.c.store_id, level.c.sku_id, level.c.on_hand, level.c.reserved)

_LOCK_LEVELS = sa.text(
    """
    SELECT sku_id, on_hand - reserved AS available FROM stock.level
    WHERE tenant_id = :tenant_id AND store_id = :store_id AND sku_id = ANY(:sku_ids)
    ORDER BY sku_id FOR UPDATE
    """
).bindparams(sa.bindparam("sku_ids", type_=ARRAY(sa.Uuid)))

_RESERVE = sa.text(
    """
    WITH wanted AS (
      SELECT * FROM unnest(CAST(:sku_ids AS uuid[]), CAST(:quantities AS int[])) AS w(sku_id, qty)
    ), taken AS (
      UPDATE stock.level l SET reserved = l.reserved + w.qty, updated_at = now()
      FROM wanted w
      WHERE l.tenant_id = :tenant_id AND l.store_id = :store_id AND l.sku_id = w.sku_id
        AND l.on_hand - l.reserved >= w.qty
      RETURNING l.sku_id, w.qty
    ), held AS (
      INSERT INTO stock.reservation (tenant_id, order_id, sku_id, store_id, quantity, created_at)
      SELECT CAST(:tenant_id AS uuid), CAST(:order_id AS uuid), sku_id, CAST(:store_id AS uuid), qty, now()
      FROM taken
    ), logged AS (
      INSERT INTO stock.movement
        (tenant_id, id, store_id, sku_id, on_hand_delta, reserved_delta, reason, source_id, created_at)
      SELECT CAST(:tenant_id AS uuid), gen_random_uuid(), CAST(:store_id AS uuid), sku_id, 0, qty,
             'reserve', CAST(:source_id AS text), now()
      FROM taken
    )
    SELECT count(*) FROM taken
    """
).bindparams(
    sa.bindparam("sku_ids", type_=ARRAY(sa.Uuid)),
    sa.bindparam("quantities", type_=ARRAY(sa.Integer)),
)

_LOCK_RESERVED = sa.text(
    """
    SELECT l.sku_id FROM stock.level l
    JOIN stock.reservation r
      ON r.tenant_id = l.tenant_id AND r.store_id = l.store_id AND r.sku_id = l.sku_id
    WHERE r.tenant_id = :tenant_id AND r.order_id = :order_id
    ORDER BY l.sku_id FOR UPDATE OF l
    """
)

_RELEASE = sa.text(
    """
    WITH gone AS (
      DELETE FROM stock.reservation WHERE tenant_id = :tenant_id AND order_id = :order_id
      RETURNING store_id, sku_id, quantity
    ), freed AS (
      UPDATE stock.level l SET reserved = l.reserved - g.quantity, updated_at = now()
      FROM gone g
      WHERE l.tenant_id = :tenant_id AND l.store_id = g.store_id AND l.sku_id = g.sku_id
      RETURNING l.store_id, l.sku_id, g.quantity
    ), logged AS (
      INSERT INTO stock.movement
        (tenant_id, id, store_id, sku_id, on_hand_delta, reserved_delta, reason, source_id, created_at)
      SELECT CAST(:tenant_id AS uuid), gen_random_uuid(), store_id, sku_id, 0, -quantity, 'release',
             CAST(:source_id AS text), now()
      FROM freed
    )
    SELECT count(*) FROM freed
    """
)

_ADJUST = sa.text(
    """
    WITH changed AS (
      UPDATE stock.level SET on_hand = on_hand + :delta, updated_at = now()
      WHERE tenant_id = :tenant_id AND store_id = :store_id AND sku_id = :sku_id
        AND on_hand + :delta >= reserved
      RETURNING store_id, sku_id, on_hand, reserved
    ), logged AS (
      INSERT INTO stock.movement
        (tenant_id, id, store_id, sku_id, on_hand_delta, reserved_delta, reason, source_id, created_at)
      SELECT CAST(:tenant_id AS uuid), CAST(:movement_id AS uuid), store_id, sku_id, CAST(:delta AS int), 0,
             CAST(:reason AS text), CAST(:source_id AS text), now()
      FROM changed
    )
    SELECT store_id, sku_id, on_hand, reserved FROM changed
    """
)


async def lock_available(
    session: AsyncSession, tenant_id: uuid.UUID, store_id: uuid.UUID, sku_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Lock the levels (in SKU order) and return what is available of each."""
    rows = await session.execute(
        _LOCK_LEVELS, {"tenant_id": tenant_id, "store_id": store_id, "sku_ids": list(sku_ids)}
    )
    return {row.sku_id: row.available for row in rows}


async def reserve(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    order_id: uuid.UUID,
    quantities: dict[uuid.UUID, int],
) -> int:
    """Conditionally reserve every SKU; returns how many SKUs were reserved."""
    taken: Any = await session.scalar(
        _RESERVE,
        {
            "tenant_id": tenant_id,
            "store_id": store_id,
            "order_id": order_id,
            "source_id": str(order_id),
            "sku_ids": list(quantities),
            "quantities": list(quantities.values()),
        },
    )
    return int(taken)


async def release(session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID) -> int:
    """Give back everything reserved for the order; returns how many SKUs were freed."""
    params = {"tenant_id": tenant_id, "order_id": order_id, "source_id": str(order_id)}
    await session.execute(_LOCK_RESERVED, params)
    freed: Any = await session.scalar(_RELEASE, params)
    return int(freed)


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


async def adjust_on_hand(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    sku_id: uuid.UUID,
    *,
    delta: int,
    reason: str,
    movement_id: uuid.UUID,
    source_id: str,
) -> LevelInfo | None:
    """Change on-hand unless it would fall below what is reserved (then ``None``)."""
    row = (
        await session.execute(
            _ADJUST,
            {
                "tenant_id": tenant_id,
                "store_id": store_id,
                "sku_id": sku_id,
                "delta": delta,
                "reason": reason,
                "movement_id": movement_id,
                "source_id": source_id,
            },
        )
    ).first()
    return LevelInfo(*row) if row else None


async def levels_by_keys(
    session: AsyncSession, tenant_id: uuid.UUID, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> list[LevelInfo]:
    """Levels for (store_id, sku_id) pairs."""
    if not keys:
        return []
    rows = await session.execute(
        sa.select(*_level_columns).where(
            level.c.tenant_id == tenant_id,
            sa.tuple_(level.c.store_id, level.c.sku_id).in_(list(keys)),
        )
    )
    return [LevelInfo(*row) for row in rows.all()]


async def levels_by_skus(
    session: AsyncSession, tenant_id: uuid.UUID, sku_ids: Sequence[uuid.UUID]
) -> list[LevelInfo]:
    if not sku_ids:
        return []
    rows = await session.execute(
        sa.select(*_level_columns)
        .where(level.c.tenant_id == tenant_id, level.c.sku_id.in_(sku_ids))
        .order_by(level.c.sku_id, level.c.store_id)
    )
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
