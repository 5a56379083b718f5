"""placeOrder over HTTP against the same transaction in raw asyncpg, in one run.

1. a fresh database ``zt_bench_<random>`` on the embedded PostgreSQL (or the server of
   ``ZHONGTAI_DATABASE_URL``), migrated, dropped at the end even on failure;
2. a tenant, a store and 3 SKUs with 10,000,000 units each, seeded through the
   centers' public ``api`` modules, and a cashier token;
3. the real server (``zhongtai serve``) as a subprocess, and ``--clients`` concurrent
   keep-alive HTTP clients POSTing ``placeOrder`` (3 lines) until ``--orders`` succeed;
4. the same business transaction in raw asyncpg (prepared statements, a pool of
   ``--clients`` connections, the same concurrency, tenant, store and SKUs);
5. a table: orders/s, p50, p99 and CPU per order for each side, and the ratios;
6. the rows each side wrote per order in every table the order touches (found by order
   id) and PostgreSQL's per-table insert/update/delete counters for each side.

Any failed order, or any table where the two sides wrote a different number of rows per
order, is reported and makes the script exit non-zero. Traffic stays on 127.0.0.1 (or
the database's unix socket). See docs/performance.md.

The raw side replays, statement for statement, what one ``placeOrder`` of this cart
sends today (captured with ``log_statement=all``, 2026-11-25): the RLS role and tenant
setting, the idempotency claim, store, SKUs, channel
prices, products, the promotion activities and the order's pricing (one insert), the order
settings, the split read, the order, its sub-order, lines, ``order.placed`` event,
history entry and NOTIFY, the payment-timeout job, the stock lock and reservation, the
reservation's expiry job and the payment (21 statements in one transaction). It skips
only the decisions: no promotion, member, coupon or channel price applies (it checks
that and fails otherwise), so the engine's result is written as the app writes it then.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from centers.product import api as product_api
from centers.promotion import api as promotion_api
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
#
# Captured with ``log_statement=all`` for one placeOrder of the bench's cart (3 lines,
# POS, no member, coupon or points; 2026-11-25, after commit f3d9f90) and replayed here
# in the same order, one asyncpg prepared statement each, in one transaction. Columns,
# WHERE clauses and locks are the app's; only SQLAlchemy's ``$n::TYPE`` casts differ.
# The numbers in the comments are the statement's place in the app's transaction.

# 1. request session: the tenant and the RLS role, transaction-local (kernel/db.py)
SQL_BIND = """
SELECT set_config('role', 'zhongtai_app', true), set_config('zhongtai.tenant_id', $1, true)
"""
# 2. kernel.idempotency.claim
SQL_CLAIM = """
INSERT INTO kernel.idempotency_key (tenant_id, scope, key, request_hash, result_id, created_at)
VALUES ($1, 'order.place', $2, $3, $4, $5)
ON CONFLICT DO NOTHING RETURNING result_id
"""
# 3. store_api.get_store
SQL_STORE = """
SELECT id, tenant_id, code, name, timezone FROM store.store
WHERE tenant_id = $1 AND id = ANY($2::uuid[])
"""
# 4. product_api.get_skus (quote_prices reuses them)
SQL_SKUS = """
SELECT id, product_id, code, name, price_amount, currency, specs FROM product.sku
WHERE tenant_id = $1 AND id = ANY($2::uuid[])
"""
# 6. product_api.quote_prices: channel/store prices
SQL_SKU_PRICES = """
SELECT p.sku_id, p.channel, p.store_id, p.price_amount, s.currency
FROM product.sku_price p JOIN product.sku s ON s.tenant_id = p.tenant_id AND s.id = p.sku_id
WHERE p.tenant_id = $1 AND p.sku_id = ANY($2::uuid[])
ORDER BY p.sku_id, p.channel, p.store_id
"""
# 7. product_api.get_products (category of each line, for promotion scopes)
SQL_PRODUCTS = """
SELECT id, name, description, category_id, attributes, images, external_code
FROM product.product WHERE tenant_id = $1 AND id = ANY($2::uuid[])
"""
# 9. promotion: the tenant's running activities
SQL_ACTIVITIES = """
SELECT id, tenant_id, name, kind, status, starts_at, ends_at, created_at, rule, scope,
       priority, exclusive, stack_group, budget, budget_used, per_member_limit
FROM promotion.activity
WHERE tenant_id = $1 AND status = 'ACTIVE' AND ends_at > $2 AND starts_at <= $2
ORDER BY priority DESC, id LIMIT 500
"""
# 8 + 10. promotion commit_quote: the order's pricing, written once after the activities
# (a cart that consumes nothing no longer claims an empty row and updates it)
SQL_PRICING = """
INSERT INTO promotion.order_pricing
  (tenant_id, order_id, request_hash, quote, consumed, status, created_at)
VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, 'COMMITTED', $6)
ON CONFLICT DO NOTHING RETURNING order_id
"""
# 11. order settings (payment timeout, delivery fee, …)
SQL_ORDER_SETTING = """
SELECT tenant_id, payment_timeout_seconds, after_sale_days, delivery_fee, free_delivery_from,
       presale_deposit_percent, presale_balance_hours, review_orders_per_hour,
       review_discount_percent
FROM "order".order_setting WHERE tenant_id = $1
"""
# 12. the split rule: where each SKU is stocked (no lock)
SQL_SPLIT_LEVELS = """
SELECT store_id, sku_id, on_hand, reserved, low_threshold FROM stock.level
WHERE tenant_id = $1 AND sku_id = ANY($2::uuid[]) ORDER BY sku_id, store_id
"""
# 13. the order, with a random number (retried on the rare collision)
SQL_ORDER = """
INSERT INTO "order".trade_order
  (tenant_id, id, number, store_id, buyer_subject, order_type, channel, status, currency,
   list_amount, discount_amount, delivery_fee, total_amount, deposit_amount, paid_amount,
   refunded_amount, external_id, placed_at, status_changed_at)
VALUES ($1, $2, $3, $4, $5, 'STANDARD', 'POS', 'PLACED', $6, $7, 0, 0, $8, 0, 0, 0, NULL, $9, $9)
ON CONFLICT (tenant_id, number) DO NOTHING RETURNING id
"""
# 14. its one sub-order (everything ships from the ordering store)
SQL_SUB_ORDER = """
INSERT INTO "order".sub_order (tenant_id, order_id, sub_no, split_key, store_id, list_amount,
                               discount_amount, delivery_fee, payable_amount, refunded_amount)
VALUES ($1, $2, 1, $3, $4, $5, 0, 0, $5, 0)
"""
# 15. the lines (executemany, one round trip, as SQLAlchemy's insertmanyvalues sends them)
SQL_LINE = """
INSERT INTO "order".order_line (tenant_id, order_id, line_no, sub_no, sku_id, sku_code, sku_name,
                                unit_price_amount, quantity, line_amount, discount_amount,
                                payable_amount, refunded_amount)
VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9, 0, $9, 0)
"""
# 16. the order.placed event
SQL_OUTBOX = """
INSERT INTO kernel.outbox_event (tenant_id, id, topic, aggregate_id, payload, occurred_at)
VALUES ($1, $2, 'order.placed', $3, $4::json, $5)
"""
# 17. the first history entry
SQL_HISTORY = """
INSERT INTO "order".order_history (tenant_id, order_id, seq, at, actor, event, from_status,
                                   to_status, reason, idempotency_key)
VALUES ($1, $2, 1, $3, $4, 'PLACE', NULL, 'PLACED', '', NULL)
"""
# 18. the subscription NOTIFY
SQL_NOTIFY = "SELECT pg_notify('zhongtai_order_events', $1)"
# 19 and 22. kernel.jobs.schedule_job: payment timeout, then the reservation's expiry
SQL_JOB = """
INSERT INTO kernel.scheduled_job
  (tenant_id, id, kind, key, payload, due_at, status, attempts, created_at)
VALUES ($1, $2, $3, $4, $5::json, $6, 'pending', 0, $7)
ON CONFLICT (tenant_id, kind, key) DO NOTHING RETURNING id
"""
# 20. Copied from centers/stock/repository/levels.py (_LOCK_LEVELS): the hot locks.
SQL_LOCK_LEVELS = """
SELECT l.sku_id, l.on_hand - l.reserved AS available,
       s.deduction_strategy, s.reservation_ttl_seconds,
       EXISTS (SELECT 1 FROM stock.product_strategy p WHERE p.tenant_id = $1) AS overridden
FROM stock.level l LEFT JOIN stock.setting s ON s.tenant_id = l.tenant_id
WHERE l.tenant_id = $1 AND l.store_id = $2 AND l.sku_id = ANY($3::uuid[])
ORDER BY l.sku_id FOR UPDATE OF l
"""
# 21. Copied from centers/stock/repository/levels.py (_RESERVE).
SQL_RESERVE = """
WITH wanted AS (
  SELECT * FROM unnest($1::uuid[], $2::int[], $3::boolean[]) AS w(sku_id, qty, held)
), taken AS (
  UPDATE stock.level l
  SET reserved = l.reserved + CASE WHEN w.held THEN w.qty ELSE 0 END, updated_at = now()
  FROM wanted w
  WHERE l.tenant_id = $4 AND l.store_id = $5 AND l.sku_id = w.sku_id
    AND l.on_hand - l.reserved >= w.qty
  RETURNING l.sku_id, w.qty, w.held, l.on_hand - l.reserved AS available, l.low_threshold
), kept AS (
  INSERT INTO stock.reservation
    (tenant_id, order_id, sku_id, store_id, quantity, created_at, status, expires_at)
  SELECT $4::uuid, $6::uuid, sku_id, $5::uuid,
         qty, now(), CASE WHEN held THEN 'HELD' ELSE 'PENDING' END,
         CASE WHEN held THEN $7::timestamptz END
  FROM taken
), logged AS (
  INSERT INTO stock.movement
    (tenant_id, id, store_id, sku_id, on_hand_delta, reserved_delta, reason, source_id, created_at)
  SELECT $4::uuid, gen_random_uuid(), $5::uuid, sku_id, 0, qty, 'reserve', $8::text, now()
  FROM taken WHERE held
)
SELECT sku_id, qty, held, available, low_threshold FROM taken
"""
# 23. payment_api.open_payment
SQL_PAYMENT = """
INSERT INTO payment.order_payment
  (tenant_id, order_id, id, store_id, member_id, amount, currency, paid_amount,
   refunded_amount, status, line_amounts, created_at, deposit_amount, balance_from)
VALUES ($1, $2, $3, $4, NULL, $5, $6, 0, 0, 'OPEN', $7::jsonb, $8, NULL, NULL)
ON CONFLICT DO NOTHING RETURNING id
"""
PAYMENT_TIMEOUT_JOB = "order.payment_timeout"
RESERVATION_EXPIRY_JOB = "stock.reservation_expiry"
DEFAULT_PAYMENT_TIMEOUT = timedelta(seconds=900)  # order.dto.OrderSettings default
DEFAULT_RESERVATION_TTL = timedelta(seconds=900)  # stock DEFAULT_SETTINGS (AT_ORDER, 15 min)


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
                "idempotencyKey": f"{GQL_KEY_PREFIX}{run_id}-{n}",
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


class Refused(Exception):
    """The raw side cannot place this order as the app would; its transaction rolls back."""


def raw_placer(
    pool: asyncpg.Pool, shop: Shop, run_id: str
) -> Callable[[int], Awaitable[str | None]]:
    """One order, statement for statement as placeOrder sends it (see the SQL above)."""
    tenant, store = shop.tenant_id, shop.store_id
    buyer = "user:bench"
    lines = [(sku, 1) for sku in shop.sku_ids]
    sku_ids = [sku for sku, _ in lines]
    quantities = dict(lines)

    async def place(n: int) -> str | None:
        order_id = new_id()
        key = f"{RAW_KEY_PREFIX}{run_id}-{n}"
        digest = request_hash(
            {
                "buyer": buyer,
                "store": store,
                "type": "STANDARD",
                "channel": "POS",
                "lines": [[sku, qty] for sku, qty in lines],
                "member": None,
                "coupons": [],
                "points": 0,
            }
        )
        try:
            await transaction(order_id, key, digest)
        except Refused as refused:  # rolled back: the transaction raised
            return str(refused)
        return None

    async def transaction(order_id: uuid.UUID, key: str, digest: str) -> None:
        async with pool.acquire() as connection, connection.transaction():
            run = connection.fetch
            await run(SQL_BIND, str(tenant))
            if await connection.fetchval(SQL_CLAIM, tenant, key, digest, order_id, _now()) is None:
                raise Refused("idempotency key already claimed")
            if not await run(SQL_STORE, tenant, [store]):
                raise Refused("store not found")
            skus = {row["id"]: row for row in await run(SQL_SKUS, tenant, sku_ids)}
            if len(skus) != len(sku_ids):
                raise Refused("SKU not found")
            # quote_prices reuses those SKUs and reads their channel/store prices.
            if await run(SQL_SKU_PRICES, tenant, sku_ids):
                raise Refused("the bench's SKUs must have no channel or store price")
            products = await run(SQL_PRODUCTS, tenant, [skus[s]["product_id"] for s in sku_ids])
            category = {row["id"]: row["category_id"] for row in products}
            currency = skus[sku_ids[0]]["currency"]
            unit = {sku: skus[sku]["price_amount"] for sku in sku_ids}
            at = _now()
            pricing = promotion_api.PricingRequest(
                store_id=store,
                channel="POS",
                member_id=None,
                coupon_codes=(),
                points_to_redeem=0,
                currency=currency,
                at=at,
                order_type="STANDARD",
                group_buy_activity_id=None,
                lines=tuple(
                    promotion_api.PricingLine(
                        sku_id=sku,
                        product_id=skus[sku]["product_id"],
                        category_id=category.get(skus[sku]["product_id"]),
                        quantity=qty,
                        unit_price=unit[sku],
                    )
                    for sku, qty in lines
                ),
            )
            pricing_digest = request_hash(dataclasses.asdict(pricing))
            if await run(SQL_ACTIVITIES, tenant, at):
                raise Refused("the bench's tenant must have no running promotion")
            amounts = [unit[sku] * qty for sku, qty in lines]
            total = sum(amounts)
            quote = {
                "lines": [
                    {
                        "line_index": index,
                        "list_amount": amount,
                        "payable_amount": amount,
                        "discount_amount": 0,
                    }
                    for index, amount in enumerate(amounts)
                ],
                "subtotal": total,
                "allocations": [],
                "explanation": ["no promotion, benefit or coupon applies"],
                "payable_total": total,
                "discount_total": 0,
                "points_redeemed": 0,
            }
            consumed = {
                "points": 0,
                "budgets": [],
                "coupons": [],
                "member_id": None,
                "member_uses": [],
                "shared_codes": [],
            }
            written = await connection.fetchval(
                SQL_PRICING,
                tenant,
                order_id,
                pricing_digest,
                json.dumps(quote),
                json.dumps(consumed),
                _now(),
            )
            if written is None:
                raise Refused("order pricing already written")
            setting = await connection.fetchrow(SQL_ORDER_SETTING, tenant)
            timeout = (
                timedelta(seconds=setting["payment_timeout_seconds"])
                if setting is not None
                else DEFAULT_PAYMENT_TIMEOUT
            )
            stocked = {
                row["sku_id"]
                for row in await run(SQL_SPLIT_LEVELS, tenant, list(sku_ids))
                if row["store_id"] == store
            }
            if stocked != set(sku_ids):
                raise Refused("the bench's store must stock every SKU (one sub-order)")
            now = _now()
            number = new_order_number(now)
            for _ in range(5):
                if await connection.fetchval(
                    SQL_ORDER, tenant, order_id, number, store, buyer, currency, total, total, now
                ):
                    break
                number = new_order_number(now)
            else:
                raise Refused("could not draw a free order number")
            await connection.execute(
                SQL_SUB_ORDER, tenant, order_id, f"store:{store}", store, total
            )
            await connection.executemany(
                SQL_LINE,
                [
                    (
                        tenant,
                        order_id,
                        index + 1,
                        sku,
                        skus[sku]["code"],
                        skus[sku]["name"],
                        unit[sku],
                        qty,
                        amount,
                    )
                    for index, ((sku, qty), amount) in enumerate(zip(lines, amounts, strict=True))
                ],
            )
            placed = {
                "order_id": str(order_id),
                "number": number,
                "store_id": str(store),
                "buyer_subject": buyer,
                "currency": currency,
                "total_amount": total,
                "lines": [
                    {
                        "sku_id": str(sku),
                        "quantity": qty,
                        "unit_price_amount": unit[sku],
                        "line_amount": amount,
                    }
                    for (sku, qty), amount in zip(lines, amounts, strict=True)
                ],
                "order_type": "STANDARD",
                "channel": "POS",
                "status": "PLACED",
            }
            await connection.execute(
                SQL_OUTBOX, tenant, new_id(), order_id, json.dumps(placed), _now()
            )
            await connection.execute(SQL_HISTORY, tenant, order_id, now, buyer)
            change = {
                "tenant": str(tenant),
                "store": str(store),
                "order": str(order_id),
                "event": "PLACE",
                "from": None,
                "to": "PLACED",
                "at": now.isoformat(),
            }
            await run(SQL_NOTIFY, json.dumps(change))
            job_payload = json.dumps({"order_id": str(order_id)})
            await connection.fetchval(
                SQL_JOB,
                tenant,
                new_id(),
                PAYMENT_TIMEOUT_JOB,
                str(order_id),
                job_payload,
                now + timeout,
                _now(),
            )
            # The hot rows: locked from here to the COMMIT, as in the app.
            locked = await run(SQL_LOCK_LEVELS, tenant, store, list(quantities))
            if any(
                row["available"] < quantities[row["sku_id"]] or row["overridden"] for row in locked
            ) or len(locked) != len(quantities):
                raise Refused(
                    "out of stock (or a product deduction strategy the bench does not model)"
                )
            first = locked[0]
            if first["deduction_strategy"] not in (None, "AT_ORDER"):
                raise Refused("the bench's tenant must deduct stock at order")
            ttl = (
                timedelta(seconds=first["reservation_ttl_seconds"])
                if first["deduction_strategy"] is not None
                else DEFAULT_RESERVATION_TTL
            )
            expires_at = _now() + ttl
            taken = await run(
                SQL_RESERVE,
                list(quantities),
                list(quantities.values()),
                [True] * len(quantities),
                tenant,
                store,
                order_id,
                expires_at,
                str(order_id),
            )
            if len(taken) != len(quantities):
                raise Refused("stock changed while reserving")
            await connection.fetchval(
                SQL_JOB,
                tenant,
                new_id(),
                RESERVATION_EXPIRY_JOB,
                str(order_id),
                job_payload,
                expires_at,
                _now(),
            )
            line_amounts = {
                str(uuid.uuid5(order_id, f"line:{index + 1}")): amount
                for index, amount in enumerate(amounts)
            }
            opened = await connection.fetchval(
                SQL_PAYMENT,
                tenant,
                order_id,
                new_id(),
                store,
                total,
                currency,
                json.dumps(line_amounts),
                _now(),
            )
            if opened is None:
                raise Refused("payment already open")

    return place


def _now() -> datetime:
    return datetime.now(UTC)


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


# --- did both sides do the same work? -----------------------------------------------

GQL_KEY_PREFIX = "bench-gql-"
RAW_KEY_PREFIX = "bench-raw-"

# Every row one placeOrder writes, found by the order's id, counted per side (a side's
# orders are those whose idempotency key it claimed), by table and a distinguishing column.
SQL_WRITTEN = """
WITH placed AS (
  SELECT result_id AS order_id, CASE WHEN key LIKE 'bench-gql-%' THEN 'gql' ELSE 'raw' END AS side
  FROM kernel.idempotency_key
  WHERE tenant_id = $1 AND scope = 'order.place' AND key LIKE 'bench-%-' || $2 || '-%'
), written AS (
  SELECT 'kernel.idempotency_key' AS tbl, k.scope AS detail, p.side
    FROM kernel.idempotency_key k JOIN placed p ON k.result_id = p.order_id
    WHERE k.tenant_id = $1
  UNION ALL SELECT 'order.trade_order', o.status || '/' || o.channel, p.side
    FROM "order".trade_order o JOIN placed p ON o.id = p.order_id WHERE o.tenant_id = $1
  UNION ALL SELECT 'order.sub_order', '', p.side
    FROM "order".sub_order s JOIN placed p USING (order_id) WHERE s.tenant_id = $1
  UNION ALL SELECT 'order.order_line', '', p.side
    FROM "order".order_line l JOIN placed p USING (order_id) WHERE l.tenant_id = $1
  UNION ALL SELECT 'order.order_line_discount', '', p.side
    FROM "order".order_line_discount d JOIN placed p USING (order_id) WHERE d.tenant_id = $1
  UNION ALL SELECT 'order.order_history', h.event, p.side
    FROM "order".order_history h JOIN placed p USING (order_id) WHERE h.tenant_id = $1
  UNION ALL SELECT 'promotion.order_pricing', r.status, p.side
    FROM promotion.order_pricing r JOIN placed p USING (order_id) WHERE r.tenant_id = $1
  UNION ALL SELECT 'kernel.outbox_event', e.topic, p.side
    FROM kernel.outbox_event e JOIN placed p ON e.aggregate_id = p.order_id
    WHERE e.tenant_id = $1
  UNION ALL SELECT 'kernel.scheduled_job', j.kind || '/' || j.status, p.side
    FROM kernel.scheduled_job j JOIN placed p ON j.key = p.order_id::text
    WHERE j.tenant_id = $1
  UNION ALL SELECT 'stock.reservation', r.status, p.side
    FROM stock.reservation r JOIN placed p USING (order_id) WHERE r.tenant_id = $1
  UNION ALL SELECT 'stock.movement', m.reason, p.side
    FROM stock.movement m JOIN placed p ON m.source_id = p.order_id::text
    WHERE m.tenant_id = $1
  UNION ALL SELECT 'payment.order_payment', y.status, p.side
    FROM payment.order_payment y JOIN placed p USING (order_id) WHERE y.tenant_id = $1
)
SELECT tbl, detail, side, count(*) AS n FROM written GROUP BY tbl, detail, side
"""
# The stock rows both sides update: what they hold must equal the held reservations.
SQL_LEVELS_CHECK = """
SELECT l.sku_id, l.reserved,
       (SELECT coalesce(sum(r.quantity), 0) FROM stock.reservation r
        WHERE r.tenant_id = l.tenant_id AND r.store_id = l.store_id AND r.sku_id = l.sku_id
          AND r.status = 'HELD') AS held
FROM stock.level l WHERE l.tenant_id = $1 AND l.store_id = $2
"""
SQL_TABLE_STATS = """
SELECT schemaname || '.' || relname AS tbl, n_tup_ins, n_tup_upd, n_tup_del
FROM pg_stat_user_tables
"""


async def table_writes(url: str) -> dict[str, tuple[int, int, int]]:
    """Rows inserted, updated, deleted per table so far (PostgreSQL's statistics; a
    backend reports them at the latest when it exits, and both sides' are closed)."""
    await asyncio.sleep(1.5)  # let exiting backends flush their counters
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch(SQL_TABLE_STATS)
    finally:
        await connection.close()
    return {row["tbl"]: (row["n_tup_ins"], row["n_tup_upd"], row["n_tup_del"]) for row in rows}


def stats_delta(
    before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]]
) -> dict[str, tuple[int, int, int]]:
    delta: dict[str, tuple[int, int, int]] = {}
    for table, (ins, upd, dele) in after.items():
        was = before.get(table, (0, 0, 0))
        if (ins, upd, dele) != was:
            delta[table] = (ins - was[0], upd - was[1], dele - was[2])
    return delta


async def compare_writes(
    url: str,
    shop: Shop,
    run_id: str,
    stats: dict[str, dict[str, tuple[int, int, int]]],
) -> list[str]:
    """Print the rows each side wrote per order, by table; return the differences."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with connection.transaction():
            # Visible under Row-Level Security too, when the bench's user is not a superuser.
            await connection.execute(
                "SELECT set_config('zhongtai.tenant_id', $1, true)", str(shop.tenant_id)
            )
            rows = await connection.fetch(SQL_WRITTEN, shop.tenant_id, run_id)
            levels = await connection.fetch(SQL_LEVELS_CHECK, shop.tenant_id, shop.store_id)
    finally:
        await connection.close()
    counts: dict[tuple[str, str], dict[str, int]] = collections.defaultdict(dict)
    for row in rows:
        counts[(row["tbl"], row["detail"])][row["side"]] = row["n"]
    orders = {
        side: sum(
            n
            for (table, _), by in counts.items()
            if table == "order.trade_order"
            for s, n in by.items()
            if s == side
        )
        for side in ("gql", "raw")
    }
    problems: list[str] = []
    print("\nrows written per order (all orders of the run, warmup included):")
    print(f"  {'table':<28}{'detail':<34}{'GraphQL':>9}{'raw':>9}")
    for (table, detail), by in sorted(counts.items()):
        per = {
            side: by.get(side, 0) / orders[side] if orders[side] else float("nan")
            for side in ("gql", "raw")
        }
        mark = "" if per["gql"] == per["raw"] else "   <- differs"
        print(f"  {table:<28}{detail[:33]:<34}{per['gql']:>9.2f}{per['raw']:>9.2f}{mark}")
        if mark:
            problems.append(f"{table} ({detail}): {per['gql']:.2f} vs {per['raw']:.2f} per order")
    print(f"  (orders: GraphQL {orders['gql']}, raw {orders['raw']})")
    for level in levels:
        if level["reserved"] != level["held"]:
            problems.append(
                f"stock.level {level['sku_id']}: reserved {level['reserved']} "
                f"but {level['held']} held by reservations"
            )
    print("\nrows inserted / updated / deleted per order, every table (pg_stat_user_tables):")
    tables = sorted(set(stats["gql"]) | set(stats["raw"]))
    print(f"  {'table':<36}{'GraphQL':>18}{'raw':>18}")
    for table in tables:
        cells = []
        for side in ("gql", "raw"):
            ins, upd, dele = stats[side].get(table, (0, 0, 0))
            n = orders[side] or 1
            cells.append(f"{ins / n:.2f}/{upd / n:.2f}/{dele / n:.2f}")
        mark = "" if cells[0] == cells[1] else "   <- differs"
        print(f"  {table:<36}{cells[0]:>18}{cells[1]:>18}{mark}")
    print(
        "  (GraphQL-only updates of kernel.outbox_event are the server's outbox dispatcher\n"
        "   fanning events out after the order committed: background work, not placeOrder's)"
    )
    return problems


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
    start = await table_writes(url)
    graphql, problems = await bench_graphql(url, shop, args, postgres, run_id)
    middle = await table_writes(url)
    print("raw asyncpg side…", flush=True)
    raw = await bench_raw(url, shop, args, postgres, run_id)
    end = await table_writes(url)
    report([graphql, raw], args, env)
    stats = {"gql": stats_delta(start, middle), "raw": stats_delta(middle, end)}
    differences = await compare_writes(url, shop, run_id, stats)

    status = 0
    for side in (graphql, raw):
        if side.failures:
            status = 1
            print(f"\n{side.name}: {side.failed} failures", file=sys.stderr)
            for message, count in side.failures.most_common(10):
                print(f"  {count} × {message}", file=sys.stderr)
    if differences:
        status = 1
        print("\nthe two sides did not write the same rows per order:", file=sys.stderr)
        for line in differences:
            print(f"  {line}", file=sys.stderr)
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

    loop_run: Callable[..., Any] = asyncio.run
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
