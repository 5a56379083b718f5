"""Small helpers the stock tests share: levels, the ledger and events, read directly."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from centers.stock import api as stock_api
from kernel.db import Database
from kernel.ids import new_id

LEVEL = """
query($id: ID!, $store: ID!) {
  sku(id: $id) { stock(storeId: $store) { onHand reserved available lowThreshold } }
}
"""


async def reserve(
    db: Database, tenant_id: uuid.UUID, location_id: uuid.UUID, lines: dict[uuid.UUID, int]
) -> uuid.UUID:
    """Reserve for a new order id (as the order center does) and return the id."""
    order_id = new_id()
    async with db.unit_of_work(tenant_id) as session:
        await stock_api.reserve(
            session,
            tenant_id,
            location_id,
            order_id,
            [stock_api.ReserveLine(sku_id=s, quantity=q) for s, q in lines.items()],
        )
    return order_id


async def level(
    db: Database, tenant_id: uuid.UUID, location_id: uuid.UUID, sku_id: uuid.UUID
) -> stock_api.LevelInfo:
    async with db.unit_of_work(tenant_id) as session:
        found = await stock_api.get_levels(session, tenant_id, [(location_id, sku_id)])
    return found[(location_id, sku_id)]


async def reservation_statuses(
    db: Database, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> dict[uuid.UUID, str]:
    async with db.unit_of_work(tenant_id) as session:
        rows = await session.execute(
            sa.text(
                "SELECT sku_id, status FROM stock.reservation "
                "WHERE tenant_id = :t AND order_id = :o"
            ),
            {"t": tenant_id, "o": order_id},
        )
        return {row.sku_id: row.status for row in rows}


async def events(db: Database, tenant_id: uuid.UUID, topic: str) -> list[dict[str, Any]]:
    async with db.unit_of_work(tenant_id) as session:
        rows = await session.execute(
            sa.text(
                "SELECT payload FROM kernel.outbox_event WHERE tenant_id = :t AND topic = :topic "
                "ORDER BY occurred_at, id"
            ),
            {"t": tenant_id, "topic": topic},
        )
        return [row.payload for row in rows]


async def assert_reconciled(db: Database, tenant_id: uuid.UUID) -> int:
    """Ledger sums equal every level, nothing is negative, and ``reserved`` is exactly what
    orders hold plus what open flash sales still offer. Returns the number of levels."""
    async with db.unit_of_work(tenant_id) as session:
        rows = (
            await session.execute(
                sa.text(
                    """
                    SELECT l.store_id, l.sku_id, l.on_hand, l.reserved,
                      COALESCE((SELECT sum(m.on_hand_delta) FROM stock.movement m
                        WHERE m.tenant_id = l.tenant_id AND m.store_id = l.store_id
                          AND m.sku_id = l.sku_id), 0) AS on_hand_sum,
                      COALESCE((SELECT sum(m.reserved_delta) FROM stock.movement m
                        WHERE m.tenant_id = l.tenant_id AND m.store_id = l.store_id
                          AND m.sku_id = l.sku_id), 0) AS reserved_sum,
                      COALESCE((SELECT sum(r.quantity) FROM stock.reservation r
                        WHERE r.tenant_id = l.tenant_id AND r.store_id = l.store_id
                          AND r.sku_id = l.sku_id AND r.status = 'HELD'), 0) AS held,
                      COALESCE((SELECT sum(b.remaining) FROM stock.flash_bucket b
                        WHERE b.tenant_id = l.tenant_id AND b.store_id = l.store_id
                          AND b.sku_id = l.sku_id), 0) AS in_buckets
                    FROM stock.level l WHERE l.tenant_id = :t
                    """
                ),
                {"t": tenant_id},
            )
        ).all()
    for row in rows:
        assert row.on_hand == row.on_hand_sum, row
        assert row.reserved == row.reserved_sum, row
        assert 0 <= row.reserved <= row.on_hand, row
        assert row.reserved == row.held + row.in_buckets, row
    return len(rows)
