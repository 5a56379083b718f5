"""Flash-sale buckets (秒杀库存分桶): a hot SKU's sale units spread over N rows."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.stock.models import FlashBucket
from kernel.db import table_of

table = table_of(FlashBucket)

# One statement per claim: pick a bucket with enough units, starting at a random one
# and skipping buckets another buyer holds right now, take the units and record the
# reservation. No row is read in one round trip and written in another, so a bucket's
# lock lasts one statement plus the commit, and N buckets serve N buyers at once.
_CLAIM = """
    WITH pick AS (
      SELECT bucket FROM stock.flash_bucket
      WHERE tenant_id = :tenant_id AND store_id = :store_id AND sku_id = :sku_id
        AND remaining >= :qty
        AND NOT EXISTS (
          SELECT 1 FROM stock.reservation r
          WHERE r.tenant_id = :tenant_id AND r.order_id = :order_id AND r.sku_id = :sku_id)
      ORDER BY {order}
      LIMIT 1 FOR UPDATE {skip}
    ), taken AS (
      UPDATE stock.flash_bucket b SET remaining = b.remaining - :qty
      FROM pick
      WHERE b.tenant_id = :tenant_id AND b.store_id = :store_id AND b.sku_id = :sku_id
        AND b.bucket = pick.bucket AND b.remaining >= :qty
      RETURNING b.bucket
    ), kept AS (
      INSERT INTO stock.reservation
        (tenant_id, order_id, sku_id, store_id, quantity, created_at, status, expires_at, bucket)
      SELECT CAST(:tenant_id AS uuid), CAST(:order_id AS uuid), CAST(:sku_id AS uuid),
             CAST(:store_id AS uuid), :qty, now(), 'HELD', CAST(:expires_at AS timestamptz), bucket
      FROM taken
    )
    SELECT bucket FROM taken
"""
# First without waiting on locked buckets; if every free-looking bucket was locked, once
# more waiting for them, so "sold out" is only said when no bucket has the units. A
# waiting claim keeps the lock of every bucket it waited for and found empty, so waiting
# claims all walk the buckets in the same order: two of them never wait for each other.
_CLAIM_SKIPPING = sa.text(_CLAIM.format(order="bucket < :start, bucket", skip="SKIP LOCKED"))
_CLAIM_WAITING = sa.text(_CLAIM.format(order="bucket", skip=""))


async def claim_bucket(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    sku_id: uuid.UUID,
    order_id: uuid.UUID,
    quantity: int,
    start: int,
    expires_at: datetime,
) -> int | None:
    """Take ``quantity`` from one bucket for the order; the bucket, or ``None`` if none has it."""
    params = {
        "tenant_id": tenant_id,
        "store_id": location_id,
        "sku_id": sku_id,
        "order_id": order_id,
        "qty": quantity,
        "expires_at": expires_at,
    }
    taken = await session.scalar(_CLAIM_SKIPPING, {**params, "start": start})
    if taken is None:
        taken = await session.scalar(_CLAIM_WAITING, params)
    return None if taken is None else int(taken)


async def open_buckets(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    sku_id: uuid.UUID,
    shares: list[int],
) -> None:
    """Add ``shares[i]`` units to bucket ``i`` (created if missing)."""
    statement = insert(table).values(
        [
            {
                "tenant_id": tenant_id,
                "store_id": location_id,
                "sku_id": sku_id,
                "bucket": index,
                "remaining": share,
            }
            for index, share in enumerate(shares)
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.tenant_id, table.c.store_id, table.c.sku_id, table.c.bucket],
            set_={"remaining": table.c.remaining + statement.excluded.remaining},
        )
    )


async def close_buckets(
    session: AsyncSession, tenant_id: uuid.UUID, location_id: uuid.UUID, sku_id: uuid.UUID
) -> int | None:
    """Delete the sale's buckets; the units they still held, or ``None`` if no sale was open."""
    # Lock in bucket order first, as waiting claims do, so closing never deadlocks with them.
    await session.execute(
        sa.select(table.c.bucket)
        .where(
            table.c.tenant_id == tenant_id,
            table.c.store_id == location_id,
            table.c.sku_id == sku_id,
        )
        .order_by(table.c.bucket)
        .with_for_update()
    )
    rows = await session.execute(
        sa.delete(table)
        .where(
            table.c.tenant_id == tenant_id,
            table.c.store_id == location_id,
            table.c.sku_id == sku_id,
        )
        .returning(table.c.remaining)
    )
    remaining = [int(r[0]) for r in rows.all()]
    return sum(remaining) if remaining else None


async def bucket_totals(
    session: AsyncSession, tenant_id: uuid.UUID, location_id: uuid.UUID, sku_id: uuid.UUID
) -> tuple[int, int] | None:
    """(bucket count, units left) of an open sale, or ``None``."""
    row = (
        await session.execute(
            sa.select(sa.func.count(), sa.func.sum(table.c.remaining)).where(
                table.c.tenant_id == tenant_id,
                table.c.store_id == location_id,
                table.c.sku_id == sku_id,
            )
        )
    ).one()
    return (int(row[0]), int(row[1])) if row[0] else None


async def return_to_bucket(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    sku_id: uuid.UUID,
    bucket_no: int,
    quantity: int,
) -> bool:
    """Give units back to an open sale's bucket; False if the sale was closed."""
    written = await session.scalar(
        sa.update(table)
        .where(
            table.c.tenant_id == tenant_id,
            table.c.store_id == location_id,
            table.c.sku_id == sku_id,
            table.c.bucket == bucket_no,
        )
        .values(remaining=table.c.remaining + quantity)
        .returning(table.c.bucket)
    )
    return written is not None
