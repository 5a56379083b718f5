"""Flash sale of one hot SKU: bucketed claims against the naive row-lock baseline, in one run.

1. a fresh database ``zt_bench_<random>`` on the embedded PostgreSQL (or the server of
   ``ZHONGTAI_DATABASE_URL``), migrated, dropped at the end even on failure;
2. a tenant, a store and two SKUs with ``--units`` units each, seeded through the
   centers' public ``api`` modules;
3. ``--clients`` concurrent buyers, each claiming one unit per transaction until the SKU
   is sold out, on each side in turn:
   - **buckets** — ``stock.api.flash_reserve``: the sale's units are spread over
     ``--buckets`` rows and each claim is one conditional statement on a bucket picked
     from a random start, skipping buckets other buyers hold;
   - **row lock** — the naive way: ``SELECT … FOR UPDATE`` the level row, check in the
     application, ``UPDATE`` it, insert the reservation and the ledger row;
   both through the same sessions (tenant bound, behind Row-Level Security) and both
   scheduling the reservation's expiry job, so only the locking differs;
4. a table: claims/s, p50 and p99 latency per side and the ratio; then each side is
   checked: exactly ``--units`` claims won, no level oversold, reserved = held claims.

Any oversell or unexpected error makes the script exit non-zero. Traffic stays on
127.0.0.1 (or the database's unix socket). See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import secrets
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import api as product_api
from centers.stock import api as stock_api
from centers.store import api as store_api
from kernel.db import Database, create_engine, to_asyncpg_url
from kernel.embedded_postgres import start_embedded_postgres
from kernel.errors import UserInputError
from kernel.ids import new_id
from kernel.jobs import schedule_job
from kernel.migrate import upgrade
from kernel.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / ".zhongtai" / "bench"
PHASE_LIMIT_SECONDS = 300.0  # a side never runs longer, sold out or not
EXPIRY_JOB = "stock.reservation_expiry"
TTL = timedelta(minutes=15)

# --- the naive baseline: lock the hot row, decide in the application, then write -------

NAIVE_LOCK = sa.text(
    """
    SELECT on_hand - reserved AS available FROM stock.level
    WHERE tenant_id = :tenant_id AND store_id = :store_id AND sku_id = :sku_id
    FOR UPDATE
    """
)
NAIVE_TAKE = sa.text(
    """
    UPDATE stock.level SET reserved = reserved + 1, updated_at = now()
    WHERE tenant_id = :tenant_id AND store_id = :store_id AND sku_id = :sku_id
    """
)
NAIVE_HOLD = sa.text(
    """
    INSERT INTO stock.reservation
      (tenant_id, order_id, sku_id, store_id, quantity, created_at, status, expires_at)
    VALUES (:tenant_id, :order_id, :sku_id, :store_id, 1, now(), 'HELD', :expires_at)
    """
)
NAIVE_LOG = sa.text(
    """
    INSERT INTO stock.movement
      (tenant_id, id, store_id, sku_id, on_hand_delta, reserved_delta, reason, source_id, created_at)
    VALUES (:tenant_id, :movement_id, :store_id, :sku_id, 0, 1, 'reserve', :source_id, now())
    """
)


class SoldOut(Exception):
    pass


class BenchFailure(Exception):
    pass


@dataclass
class Side:
    name: str
    won: int = 0
    sold_out: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.won / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)] * 1000


@dataclass(frozen=True)
class Shop:
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    bucket_sku: uuid.UUID
    naive_sku: uuid.UUID


Claim = Callable[[AsyncSession, uuid.UUID], Awaitable[None]]


def bucket_claim(shop: Shop) -> Claim:
    async def claim(session: AsyncSession, order_id: uuid.UUID) -> None:
        try:
            await stock_api.flash_reserve(
                session,
                shop.tenant_id,
                location_id=shop.store_id,
                sku_id=shop.bucket_sku,
                order_id=order_id,
                ttl_seconds=int(TTL.total_seconds()),  # as the naive side: no settings read
            )
        except UserInputError as error:
            if error.code == "OUT_OF_STOCK":
                raise SoldOut from None
            raise

    return claim


def naive_claim(shop: Shop) -> Claim:
    async def claim(session: AsyncSession, order_id: uuid.UUID) -> None:
        params = {
            "tenant_id": shop.tenant_id,
            "store_id": shop.store_id,
            "sku_id": shop.naive_sku,
        }
        available = await session.scalar(NAIVE_LOCK, params)
        if available is None or available < 1:
            raise SoldOut
        expires_at = datetime.now(UTC) + TTL
        await session.execute(NAIVE_TAKE, params)
        await session.execute(
            NAIVE_HOLD, {**params, "order_id": order_id, "expires_at": expires_at}
        )
        await session.execute(
            NAIVE_LOG, {**params, "movement_id": new_id(), "source_id": str(order_id)}
        )
        await schedule_job(
            session,
            shop.tenant_id,
            EXPIRY_JOB,
            str(order_id),
            expires_at,
            {"order_id": str(order_id)},
        )

    return claim


async def run_side(db: Database, shop: Shop, name: str, claim: Claim, clients: int) -> Side:
    side = Side(name)
    deadline = time.perf_counter() + PHASE_LIMIT_SECONDS
    done = asyncio.Event()

    async def buyer() -> None:
        while not done.is_set() and time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                async with db.unit_of_work(shop.tenant_id) as session:
                    await claim(session, new_id())
            except SoldOut:
                side.sold_out += 1
                done.set()
                return
            except Exception as error:  # reported, and fails the run
                key = f"{type(error).__name__}: {str(error)[:200]}"
                side.errors[key] = side.errors.get(key, 0) + 1
                continue
            side.latencies.append(time.perf_counter() - started)
            side.won += 1

    started = time.perf_counter()
    await asyncio.gather(*(buyer() for _ in range(clients)))
    side.seconds = time.perf_counter() - started
    return side


async def check_side(
    db: Database, shop: Shop, sku_id: uuid.UUID, side: Side, units: int
) -> list[str]:
    """The invariants: exactly ``units`` won, never oversold, ledger = level."""
    problems = []
    async with db.unit_of_work(shop.tenant_id) as session:
        row = (
            await session.execute(
                sa.text(
                    """
                    SELECT l.on_hand, l.reserved,
                      (SELECT coalesce(sum(quantity), 0) FROM stock.reservation r
                       WHERE r.tenant_id = l.tenant_id AND r.sku_id = l.sku_id
                         AND r.store_id = l.store_id) AS claimed,
                      (SELECT coalesce(sum(remaining), 0) FROM stock.flash_bucket b
                       WHERE b.tenant_id = l.tenant_id AND b.sku_id = l.sku_id
                         AND b.store_id = l.store_id) AS in_buckets,
                      (SELECT coalesce(sum(reserved_delta), 0) FROM stock.movement m
                       WHERE m.tenant_id = l.tenant_id AND m.sku_id = l.sku_id
                         AND m.store_id = l.store_id) AS ledger_reserved
                    FROM stock.level l
                    WHERE l.tenant_id = :t AND l.store_id = :s AND l.sku_id = :k
                    """
                ),
                {"t": shop.tenant_id, "s": shop.store_id, "k": sku_id},
            )
        ).one()
    if side.won != units:
        problems.append(f"{side.name}: {side.won} claims won for {units} units")
    if row.claimed != side.won:
        problems.append(f"{side.name}: {row.claimed} units reserved for {side.won} claims")
    if row.reserved > row.on_hand:
        problems.append(f"{side.name}: oversold ({row.reserved} reserved of {row.on_hand})")
    if row.reserved != row.claimed + row.in_buckets or row.reserved != row.ledger_reserved:
        problems.append(f"{side.name}: level, claims and ledger disagree: {dict(row._mapping)}")
    return problems


async def seed(db: Database, units: int, buckets: int) -> Shop:
    async with db.unit_of_work() as session:
        tenant = await store_api.create_tenant(
            session, slug=f"bench-{secrets.token_hex(4)}", name="Bench brand"
        )
        store = await store_api.create_store(
            session, tenant.id, code="FLASH-1", name="Flash store", timezone="Asia/Shanghai"
        )
        sku_ids = []
        for index in range(2):
            _, skus = await product_api.create_product(
                session,
                tenant.id,
                name=f"Hot item {index}",
                skus=[product_api.NewSku(code=f"HOT-{index}", name="Hot item", price_amount=990)],
            )
            sku_ids.append(skus[0].id)
            await stock_api.adjust(
                session,
                tenant.id,
                idempotency_key=f"flash-seed-{index}",
                store_id=store.id,
                sku_id=skus[0].id,
                delta=units,
                reason="received",
            )
    shop = Shop(tenant.id, store.id, sku_ids[0], sku_ids[1])
    async with db.unit_of_work(tenant.id) as session:
        await stock_api.open_flash_sale(
            session,
            tenant.id,
            location_id=store.id,
            sku_id=shop.bucket_sku,
            units=units,
            buckets=buckets,
        )
    return shop


async def environment(url: str) -> dict[str, str]:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return {
            name: str(await connection.fetchval(f"SHOW {name}"))
            for name in ("server_version", "synchronous_commit", "fsync")
        }
    finally:
        await connection.close()


async def admin(server_url: str, sql: str) -> None:
    connection = await asyncpg.connect(
        server_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def run(url: str, args: argparse.Namespace) -> int:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    settings = Settings(
        database_url=url, environment="development", db_pool_size=args.clients, db_max_overflow=0
    )
    db = Database(create_engine(url, settings))
    try:
        shop = await seed(db, args.units, args.buckets)
        env = await environment(url)
        print(f"seeded {args.units} units per side; {args.clients} buyers…", flush=True)
        naive = await run_side(db, shop, "row lock (naive)", naive_claim(shop), args.clients)
        buckets = await run_side(
            db, shop, f"buckets ({args.buckets})", bucket_claim(shop), args.clients
        )
        problems = await check_side(db, shop, shop.naive_sku, naive, args.units)
        problems += await check_side(db, shop, shop.bucket_sku, buckets, args.units)
    finally:
        await db.dispose()

    print()
    print(
        f"environment: {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL "
        f"{env['server_version']} (synchronous_commit={env['synchronous_commit']}, "
        f"fsync={env['fsync']}), load before the run {load}"
    )
    print(
        f"workload:    {args.clients} buyers, {args.units} units, 1 unit per claim, until sold out"
    )
    print()
    header = f"{'side':<20}{'claims':>8}{'errors':>8}{'claims/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
    print(header)
    print("-" * len(header))
    for side in (naive, buckets):
        print(
            f"{side.name:<20}{side.won:>8}{sum(side.errors.values()):>8}{side.rate:>10.0f}"
            f"{side.percentile(50):>9.1f}{side.percentile(99):>9.1f}"
        )
    if naive.rate:
        print(f"\nbuckets/row lock: throughput {buckets.rate / naive.rate:.2f}x")
    status = 0
    for side in (naive, buckets):
        for message, count in side.errors.items():
            status = 1
            print(f"{side.name}: {count} × {message}", file=sys.stderr)
    for problem in problems:
        status = 1
        print(problem, file=sys.stderr)
    if not problems:
        print("checked: both sides sold exactly the units, none oversold, ledger = levels")
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent buyers (32)")
    parser.add_argument("--units", type=int, default=3000, help="units on sale per side (3000)")
    parser.add_argument("--buckets", type=int, default=16, help="flash-sale buckets (16)")
    args = parser.parse_args()
    if not 1 <= args.clients <= 200 or not 1 <= args.units <= 1_000_000:
        parser.error("--clients must be 1-200 and --units 1-1000000")
    if not 1 <= args.buckets <= 64:
        parser.error("--buckets must be 1-64")

    configured = os.environ.get("ZHONGTAI_DATABASE_URL")
    server_url = to_asyncpg_url(configured) if configured else start_embedded_postgres(DATA_DIR)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    name = f"zt_bench_{secrets.token_hex(4)}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        upgrade(url)
        return asyncio.run(run(url, args))
    except BenchFailure as failure:
        print(f"bench failed: {failure}", file=sys.stderr)
        return 1
    finally:
        asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    sys.exit(main())
