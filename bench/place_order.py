"""placeOrder over HTTP against the same transaction in raw asyncpg, in one run.

1. a fresh database ``zt_bench_<random>`` on the embedded PostgreSQL (or the server of
   ``ZHONGTAI_DATABASE_URL``), migrated, dropped at the end even on failure;
2. a tenant, a store and 3 SKUs with 10,000,000 units each, seeded through the
   centers' public ``api`` modules, and a cashier token;
3. the real server (``zhongtai serve``) as a subprocess, and ``--clients`` concurrent
   keep-alive HTTP clients POSTing ``placeOrder`` (3 lines) until ``--orders`` succeed;
4. the same business transaction in raw asyncpg (prepared statements, a pool of
   ``--clients`` connections, the same concurrency, tenant, store and SKUs);
5. a table: orders/s, p50, p99 and CPU per order for each side, and the ratios.

Any failed order is reported and makes the script exit non-zero. Traffic stays on
127.0.0.1 (or the database's unix socket). See docs/performance.md.

The raw side is the minimal order transaction (claim, store, SKUs, reserve, order,
lines, outbox). Since issue 3, ``placeOrder`` also prices through the promotion engine
(channel prices, categories, activities), decides the split by stock location, opens
the payment, writes sub-orders, the first history entry, the payment-timeout job and a
NOTIFY: more work per order than the raw side does, so the ratio is a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import math
import os
import platform
import secrets
import signal
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from centers.product import api as product_api
from centers.stock import api as stock_api
from centers.store import api as store_api
from kernel.authn import mint_dev_token
from kernel.authz.rules import assign_role
from kernel.db import Database, create_engine, to_asyncpg_url
from kernel.embedded_postgres import start_embedded_postgres
from kernel.idempotency import request_hash
from kernel.ids import new_id, new_order_number
from kernel.migrate import upgrade
from kernel.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / ".zhongtai" / "bench"
PRICES = (1200, 800, 350)
STOCK_PER_SKU = 10_000_000
MAX_ADJUSTMENT = 1_000_000  # stock_api.adjust refuses larger single moves
SERVER_START_SECONDS = 60.0
SERVER_STOP_SECONDS = 30.0
REQUEST_TIMEOUT_SECONDS = 30.0
PHASE_LIMIT_SECONDS = 300.0  # a whole side (warmup + measure) never runs longer

PLACE_ORDER = """
mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id number } userErrors { code message } }
}
"""


# --- the raw-SQL baseline: the statements placeOrder sends, minus the ORM ------------

SQL_CLAIM = """
INSERT INTO kernel.idempotency_key (tenant_id, scope, key, request_hash, result_id, created_at)
VALUES ($1, 'order.place', $2, $3, $4, $5)
ON CONFLICT DO NOTHING RETURNING result_id
"""
SQL_STORE = """
SELECT id, tenant_id, code, name, timezone FROM store.store WHERE tenant_id = $1 AND id = $2
"""
SQL_SKUS = """
SELECT id, product_id, code, name, price_amount, currency FROM product.sku
WHERE tenant_id = $1 AND id = ANY($2::uuid[])
"""
# Copied from centers/stock/repository.py (_LOCK_LEVELS and _RESERVE).
SQL_LOCK_LEVELS = """
SELECT sku_id, on_hand - reserved AS available FROM stock.level
WHERE tenant_id = $1 AND store_id = $2 AND sku_id = ANY($3::uuid[])
ORDER BY sku_id FOR UPDATE
"""
SQL_RESERVE = """
WITH wanted AS (
  SELECT * FROM unnest($4::uuid[], $5::int[]) AS w(sku_id, qty)
), taken AS (
  UPDATE stock.level l SET reserved = l.reserved + w.qty, updated_at = now()
  FROM wanted w
  WHERE l.tenant_id = $1 AND l.store_id = $2 AND l.sku_id = w.sku_id
    AND l.on_hand - l.reserved >= w.qty
  RETURNING l.sku_id, w.qty
), held AS (
  INSERT INTO stock.reservation (tenant_id, order_id, sku_id, store_id, quantity, created_at)
  SELECT $1::uuid, $3::uuid, sku_id, $2::uuid, qty, now()
  FROM taken
), logged AS (
  INSERT INTO stock.movement
    (tenant_id, id, store_id, sku_id, on_hand_delta, reserved_delta, reason, source_id, created_at)
  SELECT $1::uuid, gen_random_uuid(), $2::uuid, sku_id, 0, qty, 'reserve', $3::text, now()
  FROM taken
)
SELECT count(*) FROM taken
"""
SQL_ORDER = """
INSERT INTO "order".trade_order
  (tenant_id, id, number, store_id, buyer_subject, status, currency, total_amount, placed_at)
VALUES ($1, $2, $3, $4, $5, 'PLACED', $6, $7, $8)
ON CONFLICT (tenant_id, number) DO NOTHING RETURNING id
"""
SQL_LINES = """
INSERT INTO "order".order_line (tenant_id, order_id, line_no, sku_id, sku_code, sku_name,
                                unit_price_amount, quantity, line_amount)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9),
       ($10, $11, $12, $13, $14, $15, $16, $17, $18),
       ($19, $20, $21, $22, $23, $24, $25, $26, $27)
"""
SQL_OUTBOX = """
INSERT INTO kernel.outbox_event (tenant_id, id, topic, aggregate_id, payload, occurred_at)
VALUES ($1, $2, 'order.placed', $3, $4::json, $5)
"""


@dataclass(frozen=True)
class Shop:
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    sku_ids: list[uuid.UUID]
    token: str


@dataclass
class Side:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: float = 0.0
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per order, by process
    sequence: Iterator[int] = field(default_factory=itertools.count)  # idempotency keys

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        rank = math.ceil(p / 100 * len(ordered))  # nearest rank
        return ordered[min(len(ordered), max(rank, 1)) - 1]


class BenchFailure(Exception):
    pass


# --- CPU accounting (Linux /proc; best effort) --------------------------------------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> tuple[int, float]:
    """(parent pid, user+system CPU seconds) of a process."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def _backends_cpu(postmaster: int, database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL process working on ``database`` (its backends and
    autovacuum workers: their process titles name the database)."""
    found: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parent, cpu = _proc_cpu(int(entry))
            if parent != postmaster:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                title = cmdline.read().decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        if f" {database} " in title:
            found[int(entry)] = cpu
    return found


@dataclass(frozen=True)
class Postgres:
    """Where to read PostgreSQL's CPU use from (only for the embedded server)."""

    postmaster_pid: int
    database: str


class CpuMeter:
    """CPU seconds of this process, the server process and PostgreSQL between two points."""

    def __init__(self, server_pid: int | None, postgres: Postgres | None) -> None:
        self.server_pid = server_pid
        self.postgres = postgres
        self._backends: dict[int, float] = {}

    def sample(self) -> dict[str, float]:
        sample = {"bench": time.process_time()}
        try:
            if self.server_pid is not None:
                sample["server"] = _proc_cpu(self.server_pid)[1]
            if self.postgres is not None:
                now = _backends_cpu(self.postgres.postmaster_pid, self.postgres.database)
                # Count each backend from its first sample (or its start): pools outlive phases.
                earlier, self._backends = self._backends, now
                sample["postgres"] = sum(cpu - earlier.get(pid, 0.0) for pid, cpu in now.items())
        except OSError:
            pass
        return sample

    @staticmethod
    def per_order(
        before: dict[str, float], after: dict[str, float], orders: int
    ) -> dict[str, float]:
        if not orders:
            return {}
        deltas = {key: after[key] - before[key] for key in before if key in after}
        if "postgres" in after:
            deltas["postgres"] = after["postgres"]  # already a delta since ``before``
        return {key: value * 1000 / orders for key, value in deltas.items()}


# --- the driver: N workers until N orders succeeded -----------------------------------


async def drive(
    side: Side,
    place: Callable[[int], Awaitable[str | None]],
    *,
    clients: int,
    target: int,
    record: bool,
    deadline: float,
    max_failures: int,
) -> None:
    """Run ``clients`` workers until ``target`` orders succeeded (or too many failed)."""
    state = {"issued": 0, "ok": 0, "failed": 0}  # this phase only; key numbers go on

    async def worker() -> None:
        while (
            state["ok"] + (state["issued"] - state["ok"] - state["failed"]) < target
            and state["failed"] <= max_failures
            and time.monotonic() < deadline
        ):
            state["issued"] += 1
            started = time.perf_counter()
            try:
                error = await place(next(side.sequence))
            except Exception as exc:  # transport errors, pool timeouts, SQL errors
                error = f"{type(exc).__name__}: {exc}"
            elapsed_ms = (time.perf_counter() - started) * 1000
            if error is None:
                state["ok"] += 1
                if record:
                    side.latencies_ms.append(elapsed_ms)
            else:
                state["failed"] += 1
                side.failures[error[:300]] += 1

    await asyncio.gather(*(worker() for _ in range(clients)))
    if state["ok"] < target:
        side.failures[f"stopped after {state['ok']} of {target} orders"] += 1


async def run_side(
    side: Side,
    place: Callable[[int], Awaitable[str | None]],
    args: argparse.Namespace,
    meter: CpuMeter,
) -> None:
    deadline = time.monotonic() + PHASE_LIMIT_SECONDS
    max_failures = max(20, args.orders // 20)

    async def phase(target: int, record: bool) -> None:
        await drive(
            side,
            place,
            clients=args.clients,
            target=target,
            record=record,
            deadline=deadline,
            max_failures=max_failures,
        )

    if args.warmup:
        await phase(args.warmup, record=False)
    before = meter.sample()
    started = time.perf_counter()
    await phase(args.orders, record=True)
    side.seconds = time.perf_counter() - started
    side.cpu_ms = CpuMeter.per_order(before, meter.sample(), side.ok)


# --- GraphQL over HTTP ------------------------------------------------------------------


def graphql_placer(
    client: httpx.AsyncClient, shop: Shop, run_id: str
) -> Callable[[int], Awaitable[str | None]]:
    headers = {"authorization": f"Bearer {shop.token}"}
    lines = [{"skuId": str(sku), "quantity": 1} for sku in shop.sku_ids]

    async def place(n: int) -> str | None:
        variables = {
            "input": {
                "idempotencyKey": f"bench-gql-{run_id}-{n}",
                "storeId": str(shop.store_id),
                "lines": lines,
            }
        }
        response = await client.post(
            "/graphql", json={"query": PLACE_ORDER, "variables": variables}, headers=headers
        )
        try:
            body = response.json()
        except ValueError:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        if body.get("errors"):
            first = body["errors"][0]
            code = (first.get("extensions") or {}).get("code")
            return f"HTTP {response.status_code} error {code}: {first.get('message')}"
        payload = (body.get("data") or {}).get("placeOrder") or {}
        if payload.get("userErrors"):
            first = payload["userErrors"][0]
            return f"userError {first.get('code')}: {first.get('message')}"
        if response.status_code != 200 or not (payload.get("order") or {}).get("number"):
            return f"HTTP {response.status_code}: no order in {str(body)[:200]}"
        return None

    return place


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_command(port: int) -> list[str]:
    script = Path(sys.executable).parent / "zhongtai"
    base = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from schema.cli import main; main()"]
    )
    return [*base, "serve", "--host", "127.0.0.1", "--port", str(port)]


async def wait_healthy(proc: asyncio.subprocess.Process, base_url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as probe:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise BenchFailure(f"server exited with {proc.returncode}:\n{tail(log)}")
            try:
                if (await probe.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise BenchFailure(f"server not healthy after {SERVER_START_SECONDS:.0f}s:\n{tail(log)}")


async def stop_server(proc: asyncio.subprocess.Process) -> int | None:
    """SIGTERM (uvicorn finishes in-flight requests), then wait, bounded; kill if stuck."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), SERVER_STOP_SECONDS)
        except TimeoutError:
            proc.kill()
            await asyncio.wait_for(proc.wait(), 10)
    return proc.returncode


def tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def server_problems(log: Path) -> list[str]:
    """Log lines of the server that look like errors (tracebacks, error-level records)."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return []
    markers = ('"level": "error"', '"level": "critical"', "Traceback", "ERROR:", "Exception")
    return [line for line in text.splitlines() if any(m in line for m in markers)]


async def bench_graphql(
    url: str, shop: Shop, args: argparse.Namespace, postgres: Postgres | None, run_id: str
) -> tuple[Side, list[str]]:
    side = Side("GraphQL (HTTP)")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = DATA_DIR / f"server-{run_id}.log"
    env = {**os.environ, "ZHONGTAI_DATABASE_URL": url, "ZHONGTAI_ENVIRONMENT": "development"}
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *server_command(port), env=env, cwd=ROOT, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    try:
        await wait_healthy(proc, base_url, log)
        limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
        async with httpx.AsyncClient(
            base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT_SECONDS
        ) as client:
            await run_side(
                side, graphql_placer(client, shop, run_id), args, CpuMeter(proc.pid, postgres)
            )
    finally:
        code = await stop_server(proc)
    problems = server_problems(log)
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
    if code not in (0, -signal.SIGTERM) or "Application shutdown complete" not in tail(log):
        problems.append(f"server did not shut down cleanly (exit status {code})")
    if not problems:
        log.unlink(missing_ok=True)
    else:
        problems.append(f"(full server log kept in {log})")
    return side, problems


# --- raw asyncpg --------------------------------------------------------------------


def raw_placer(
    pool: asyncpg.Pool, shop: Shop, run_id: str
) -> Callable[[int], Awaitable[str | None]]:
    tenant, store = shop.tenant_id, shop.store_id
    buyer = "user:bench"

    async def place(n: int) -> str | None:
        order_id = new_id()
        key = f"bench-raw-{run_id}-{n}"
        lines = [(sku, 1) for sku in shop.sku_ids]
        digest = request_hash(
            {"buyer": buyer, "store": store, "lines": [[sku, qty] for sku, qty in lines]}
        )
        now = datetime.now(UTC)
        async with pool.acquire() as connection, connection.transaction():
            if await connection.fetchval(SQL_CLAIM, tenant, key, digest, order_id, now) is None:
                return "idempotency key already claimed"
            if await connection.fetchrow(SQL_STORE, tenant, store) is None:
                return "store not found"
            skus = {
                row["id"]: row
                for row in await connection.fetch(SQL_SKUS, tenant, [sku for sku, _ in lines])
            }
            if len(skus) != len(lines):
                return "SKU not found"
            quantities = dict(lines)
            available = {
                row["sku_id"]: row["available"]
                for row in await connection.fetch(SQL_LOCK_LEVELS, tenant, store, list(quantities))
            }
            if any(available.get(sku, 0) < qty for sku, qty in quantities.items()):
                return "out of stock"
            taken = await connection.fetchval(
                SQL_RESERVE,
                tenant,
                store,
                order_id,
                list(quantities),
                list(quantities.values()),
            )
            if taken != len(quantities):
                return "stock changed while reserving"
            currency = skus[lines[0][0]]["currency"]
            priced = [
                (i + 1, skus[sku], qty, skus[sku]["price_amount"] * qty)
                for i, (sku, qty) in enumerate(lines)
            ]
            total = sum(amount for *_, amount in priced)
            number = new_order_number(now)
            for _ in range(5):
                if await connection.fetchval(
                    SQL_ORDER, tenant, order_id, number, store, buyer, currency, total, now
                ):
                    break
                number = new_order_number(now)
            else:
                return "could not draw a free order number"
            params: list[Any] = []
            for line_no, sku, qty, amount in priced:
                params += [tenant, order_id, line_no, sku["id"], sku["code"], sku["name"]]
                params += [sku["price_amount"], qty, amount]
            await connection.execute(SQL_LINES, *params)
            payload = {
                "order_id": str(order_id),
                "number": number,
                "store_id": str(store),
                "buyer_subject": buyer,
                "currency": currency,
                "total_amount": total,
                "lines": [
                    {
                        "sku_id": str(sku["id"]),
                        "quantity": qty,
                        "unit_price_amount": sku["price_amount"],
                        "line_amount": amount,
                    }
                    for _, sku, qty, amount in priced
                ],
            }
            await connection.execute(
                SQL_OUTBOX, tenant, new_id(), order_id, json.dumps(payload), datetime.now(UTC)
            )
        return None

    return place


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def bench_raw(
    url: str, shop: Shop, args: argparse.Namespace, postgres: Postgres | None, run_id: str
) -> Side:
    side = Side("raw asyncpg")

    async def keep(_connection: asyncpg.Connection) -> None:
        """Every transaction ends in COMMIT or ROLLBACK, so there is no session state to
        reset; asyncpg's default reset would add a round trip per order that SQLAlchemy's
        pool (rollback only inside a transaction) does not pay."""

    pool = await asyncpg.create_pool(
        asyncpg_dsn(url),
        min_size=args.clients,
        max_size=args.clients,
        reset=keep,
        server_settings={"timezone": "UTC", "application_name": "zhongtai-bench"},
    )
    try:
        await run_side(side, raw_placer(pool, shop, run_id), args, CpuMeter(None, postgres))
    finally:
        await pool.close()
    return side


# --- setup: database, seed, token -----------------------------------------------------


async def seed(url: str) -> Shop:
    settings = Settings(database_url=url, environment="development")
    db = Database(create_engine(url, settings))
    try:
        async with db.unit_of_work() as session:
            tenant = await store_api.create_tenant(
                session, slug=f"bench-{secrets.token_hex(4)}", name="Bench brand"
            )
            store = await store_api.create_store(
                session, tenant.id, code="BENCH-1", name="Bench store", timezone="Asia/Shanghai"
            )
            sku_ids: list[uuid.UUID] = []
            for index, price in enumerate(PRICES):
                _, skus = await product_api.create_product(
                    session,
                    tenant.id,
                    name=f"Bench dish {index}",
                    skus=[
                        product_api.NewSku(
                            code=f"BENCH-{index}", name=f"Bench dish {index}", price_amount=price
                        )
                    ],
                )
                sku_ids.append(skus[0].id)
                for chunk in range(STOCK_PER_SKU // MAX_ADJUSTMENT):
                    await stock_api.adjust(
                        session,
                        tenant.id,
                        idempotency_key=f"bench-seed-{skus[0].id}-{chunk}",
                        store_id=store.id,
                        sku_id=skus[0].id,
                        delta=MAX_ADJUSTMENT,
                        reason="received",
                    )
            await assign_role(session, tenant.id, "user:bench", "cashier")
    finally:
        await db.dispose()
    token = mint_dev_token(settings, tenant_id=tenant.id, subject_id="bench")
    return Shop(tenant_id=tenant.id, store_id=store.id, sku_ids=sku_ids, token=token)


async def admin(server_url: str, sql: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def environment(url: str) -> dict[str, str]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        settings = {
            name: await connection.fetchval(f"SHOW {name}")
            for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers")
        }
    finally:
        await connection.close()
    return settings


def embedded_postgres(url: str) -> Postgres | None:
    try:
        pid = int((DATA_DIR / "pgdata" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return Postgres(postmaster_pid=pid, database=str(make_url(url).database))


# --- report -----------------------------------------------------------------------------


def report(sides: list[Side], args: argparse.Namespace, env: dict[str, str]) -> None:
    print()
    print(
        f"environment: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PostgreSQL {env['server_version']} (synchronous_commit={env['synchronous_commit']}, "
        f"fsync={env['fsync']}, shared_buffers={env['shared_buffers']}), "
        f"load before the run {env['load']}"
    )
    print(
        f"workload:    {args.clients} clients, {args.orders} orders per side after "
        f"{args.warmup} warmup, 3 lines per order, one tenant/store/3 SKUs shared"
    )
    print()
    header = (
        f"{'side':<16}{'orders':>8}{'failed':>8}{'orders/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"   CPU ms/order: app / client / postgres"
    )
    print(header)
    print("-" * len(header))
    for side in sides:
        cpu = side.cpu_ms
        app = cpu.get("server") if "server" in cpu else cpu.get("bench")
        client = cpu.get("bench") if "server" in cpu else None

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}"

        print(
            f"{side.name:<16}{side.ok:>8}{side.failed:>8}{side.rate:>10.0f}"
            f"{side.percentile(50):>9.1f}{side.percentile(99):>9.1f}"
            f"   {ms(app):>13} / {ms(client)} / {ms(cpu.get('postgres'))}"
        )
    graphql, raw = sides
    if graphql.rate and raw.rate:
        print(
            f"\nGraphQL/raw: throughput {graphql.rate / raw.rate:.2f}x, "
            f"p50 latency {graphql.percentile(50) / raw.percentile(50):.2f}x"
        )
    print(
        "(app = the zhongtai server process for GraphQL, this process for raw; "
        "client = this process's httpx side)"
    )


# --- main -------------------------------------------------------------------------------


async def run(url: str, embedded: bool, args: argparse.Namespace) -> int:
    run_id = secrets.token_hex(4)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    shop = await seed(url)
    env = {**await environment(url), "load": load}
    postgres = embedded_postgres(url) if embedded else None
    print(f"seeded tenant {shop.tenant_id}; GraphQL side ({args.clients} clients)…", flush=True)
    graphql, problems = await bench_graphql(url, shop, args, postgres, run_id)
    print("raw asyncpg side…", flush=True)
    raw = await bench_raw(url, shop, args, postgres, run_id)
    report([graphql, raw], args, env)

    status = 0
    for side in (graphql, raw):
        if side.failures:
            status = 1
            print(f"\n{side.name}: {side.failed} failures", file=sys.stderr)
            for message, count in side.failures.most_common(10):
                print(f"  {count} × {message}", file=sys.stderr)
    if problems:
        status = 1
        print(f"\nserver log shows {len(problems)} problem lines:", file=sys.stderr)
        for line in problems[:20]:
            print(f"  {line[:500]}", file=sys.stderr)
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--orders", type=int, default=2000, help="orders per side (2000)")
    parser.add_argument("--warmup", type=int, default=100, help="warmup orders per side (100)")
    args = parser.parse_args()
    if args.clients < 1 or args.orders < 1 or args.warmup < 0:
        parser.error("--clients and --orders must be positive, --warmup not negative")

    configured = os.environ.get("ZHONGTAI_DATABASE_URL")
    embedded = not configured
    server_url = to_asyncpg_url(configured) if configured else start_embedded_postgres(DATA_DIR)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    name = f"zt_bench_{secrets.token_hex(4)}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)

    loop_run: Callable[[Awaitable[Any]], Any] = asyncio.run  # type: ignore[assignment]
    try:
        import uvloop  # the server runs on uvloop too (uvicorn[standard])

        loop_run = uvloop.run
    except ImportError:
        pass

    asyncio.run(admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        upgrade(url)
        return int(loop_run(run(url, embedded, args)))
    except BenchFailure as failure:
        print(f"bench failed: {failure}", file=sys.stderr)
        return 1
    finally:
        asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    sys.exit(main())
