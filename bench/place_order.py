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
import random
import secrets
import shutil
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
import loadgen
import sqlalchemy as sa
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
# POS, no member, coupon or points; 2026-12-07, after the batch statements of
# kernel/batch.py) and replayed here in the same order, one asyncpg prepared statement
# each, in one transaction: the same parts, columns, WHERE clauses and locks. Only the
# parameter numbering differs (the app's batch numbers every value it adds).
# The numbers in the comments are the statement's place in the app's transaction.

# 1. request session: the tenant and the RLS role, transaction-local (kernel/db.py)
SQL_BIND = """
SELECT set_config('role', 'zhongtai_app', true), set_config('zhongtai.tenant_id', $1, true)
"""
# 2. One statement: claim the idempotency key (kernel.idempotency.claim_in) and read what
#    pricing needs: the store (store_api.store_exists_in), the SKUs with their price
#    overrides and their products' categories (product_api.cart_catalog_in), the order
#    settings (order repository.settings_in) and, for the split rule, the SKUs' stock in
#    every location (stock_api.available_at_in; no lock).
SQL_READ = """
WITH claim AS (
  INSERT INTO kernel.idempotency_key (tenant_id, scope, key, request_hash, result_id, created_at)
  VALUES ($1, 'order.place', $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING result_id
)
SELECT (SELECT result_id FROM claim) AS claimed,
  (SELECT EXISTS (SELECT 1 FROM store.store WHERE tenant_id = $1 AND id = $6)) AS store_found,
  (SELECT coalesce(json_agg(json_build_object(
     'id', s.id, 'product_id', s.product_id, 'code', s.code, 'name', s.name,
     'price_amount', s.price_amount, 'currency', s.currency, 'specs', s.specs,
     'category_id', p.category_id,
     'overrides', (SELECT json_agg(json_build_array(x.channel, x.store_id, x.price_amount)
                                   ORDER BY x.channel, x.store_id)
                   FROM product.sku_price x WHERE x.tenant_id = s.tenant_id AND x.sku_id = s.id)
   )), '[]')
   FROM product.sku s
   LEFT JOIN product.product p ON p.tenant_id = s.tenant_id AND p.id = s.product_id
   WHERE s.tenant_id = $1 AND s.id = ANY($7::uuid[])) AS catalog,
  (SELECT json_build_object('payment_timeout_seconds', payment_timeout_seconds,
     'after_sale_days', after_sale_days, 'delivery_fee', delivery_fee,
     'free_delivery_from', free_delivery_from, 'presale_deposit_percent', presale_deposit_percent,
     'presale_balance_hours', presale_balance_hours,
     'review_orders_per_hour', review_orders_per_hour,
     'review_discount_percent', review_discount_percent)
   FROM "order".order_setting WHERE tenant_id = $1) AS settings,
  (SELECT json_agg(json_build_array(store_id, sku_id, on_hand - reserved) ORDER BY sku_id, store_id)
   FROM stock.level WHERE tenant_id = $1 AND sku_id = ANY($7::uuid[])) AS available
"""
# 3. promotion: the tenant's running activities
SQL_ACTIVITIES = """
SELECT id, tenant_id, name, kind, status, starts_at, ends_at, created_at, external_id, rule,
       scope, priority, exclusive, stack_group, budget, budget_used, per_member_limit
FROM promotion.activity
WHERE tenant_id = $1 AND status = 'ACTIVE' AND ends_at > $2 AND starts_at <= $2
ORDER BY priority DESC, id LIMIT 500
"""
# 4. promotion commit_quote: the order's pricing, written once after the activities (a
#    cart that consumes nothing is not claimed empty first)
SQL_PRICING = """
INSERT INTO promotion.order_pricing
  (tenant_id, order_id, request_hash, quote, consumed, status, created_at)
VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, 'COMMITTED', $6)
ON CONFLICT DO NOTHING RETURNING order_id
"""
# 5. One statement (kernel.batch): the order (random number; nothing else is written if
#    it was taken, and the app sends the statement again with another), its sub-orders,
#    lines, first history entry, the order.placed event, the payment-timeout job, the
#    payment (payment_api.open_payment_in) and the change NOTIFY for subscriptions.
SQL_WRITE = """
WITH placed AS (
  INSERT INTO "order".trade_order
    (tenant_id, id, number, store_id, buyer_subject, order_type, channel, status, currency,
     list_amount, discount_amount, delivery_fee, total_amount, deposit_amount, paid_amount,
     refunded_amount, external_id, placed_at, status_changed_at, member_id, member_subject)
  VALUES ($1, $2, $3, $4, $5, 'STANDARD', 'POS', 'PLACED', $6, $7, 0, 0, $7, 0, 0, 0, NULL, $8, $8,
          NULL, NULL)
  ON CONFLICT (tenant_id, number) DO NOTHING RETURNING id
), placed_subs AS (
  INSERT INTO "order".sub_order (tenant_id, order_id, sub_no, split_key, store_id, list_amount,
                                 discount_amount, delivery_fee, payable_amount, refunded_amount)
  SELECT $1, $2, 1, $9, $4, $7, 0, 0, $7, 0 WHERE EXISTS (SELECT 1 FROM placed)
), placed_lines AS (
  INSERT INTO "order".order_line (tenant_id, order_id, line_no, sub_no, sku_id, sku_code,
                                  sku_name, unit_price_amount, quantity, line_amount,
                                  discount_amount, payable_amount, refunded_amount)
  SELECT $1, $2, l.line_no, 1, l.sku_id, l.code, l.name, l.unit, l.qty, l.amount, 0, l.amount, 0
  FROM unnest($10::int[], $11::uuid[], $12::text[], $13::text[], $14::bigint[], $15::int[],
              $16::bigint[]) AS l(line_no, sku_id, code, name, unit, qty, amount)
  WHERE EXISTS (SELECT 1 FROM placed)
), placed_history AS (
  INSERT INTO "order".order_history (tenant_id, order_id, seq, at, actor, event, from_status,
                                     to_status, reason, idempotency_key)
  SELECT $1, $2, 1, $8, $5, 'PLACE', NULL, 'PLACED', '', NULL WHERE EXISTS (SELECT 1 FROM placed)
), outbox AS (
  INSERT INTO kernel.outbox_event (tenant_id, id, topic, aggregate_id, payload, occurred_at)
  SELECT $1, $17, 'order.placed', $2, $18::json, $19 WHERE EXISTS (SELECT 1 FROM placed)
), job AS (
  INSERT INTO kernel.scheduled_job
    (tenant_id, id, kind, key, payload, due_at, status, attempts, created_at)
  SELECT $1, $20, 'order.payment_timeout', $2::text, $21::json, $22, 'pending', 0, $19
  WHERE EXISTS (SELECT 1 FROM placed) ON CONFLICT (tenant_id, kind, key) DO NOTHING
), payment AS (
  INSERT INTO payment.order_payment
    (tenant_id, order_id, id, store_id, member_id, amount, currency, paid_amount,
     refunded_amount, status, line_amounts, created_at, deposit_amount, balance_from)
  SELECT $1, $2, $23, $4, NULL, $7, $6, 0, 0, 'OPEN', $24::jsonb, $19, NULL, NULL
  WHERE EXISTS (SELECT 1 FROM placed)
)
SELECT id, pg_notify('zhongtai_order_events', $25) FROM placed
"""
# 6. Copied from centers/stock/repository/levels.py (_RESERVE_ALL), the last statement:
#    lock the levels in SKU order, decide the strategy, reserve all or nothing, record
#    the reservations and the ledger, schedule the holds' expiry. The hot locks are held
#    from here to the COMMIT.
SQL_RESERVE = """
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
  INSERT INTO kernel.scheduled_job
    (tenant_id, id, kind, key, payload, due_at, status, attempts, created_at)
  SELECT $1::uuid, $3::uuid, $8::text, $2::text, json_build_object('order_id', $2::text),
         (SELECT expires_at FROM due), 'pending', 0, $9 WHERE EXISTS (SELECT 1 FROM taken WHERE held)
  ON CONFLICT (tenant_id, kind, key) DO NOTHING
)
SELECT w.store_id, w.sku_id, coalesce(k.available, 0) AS before,
       t.sku_id IS NOT NULL AS taken, t.held, t.available, t.low_threshold
FROM wanted w
LEFT JOIN locked k ON k.store_id = w.store_id AND k.sku_id = w.sku_id
LEFT JOIN taken t ON t.store_id = w.store_id AND t.sku_id = w.sku_id
"""
PAYMENT_TIMEOUT_JOB = "order.payment_timeout"
RESERVATION_EXPIRY_JOB = "stock.reservation_expiry"
DEFAULT_PAYMENT_TIMEOUT = timedelta(seconds=900)  # order.dto.OrderSettings default
DEFAULT_RESERVATION_TTL = timedelta(seconds=900)  # stock DEFAULT_SETTINGS (AT_ORDER, 15 min)


@dataclass(frozen=True)
class Shop:
    """The seeded tenant. Without ``spread`` every order buys the same 3 SKUs at one
    store (three hot rows); with it, order ``n`` buys 3 of the catalog's SKUs at one of
    the stores, drawn from ``n`` (both sides place the same carts)."""

    tenant_id: uuid.UUID
    store_id: uuid.UUID
    sku_ids: list[uuid.UUID]
    token: str
    assortment: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)

    def cart(self, n: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
        if not self.assortment:
            return self.store_id, self.sku_ids
        draw = random.Random(n)
        store = draw.choice(sorted(self.assortment))
        return store, draw.sample(self.assortment[store], 3)


@dataclass
class Side:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: float = 0.0
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per order, by process
    sequence: Iterator[int] = field(default_factory=itertools.count)  # idempotency keys
    # Driven by wrk: its counts and percentiles (it keeps no per-request latencies).
    wrk: loadgen.WrkResult | None = None

    @property
    def ok(self) -> int:
        if self.wrk is not None:
            return self.wrk.requests - self.wrk.bad_answers
        return len(self.latencies_ms)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if self.wrk is not None:
            return {50: self.wrk.p50_ms, 99: self.wrk.p99_ms}[int(p)]
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

    async def place(n: int) -> str | None:
        store, sku_ids = shop.cart(n)
        variables = {
            "input": {
                "idempotencyKey": f"{GQL_KEY_PREFIX}{run_id}-{n}",
                "storeId": str(store),
                "lines": [{"skuId": str(sku), "quantity": 1} for sku in sku_ids],
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


# Each wrk thread numbers its own requests, so every request carries its own
# idempotency key (bench-gql-<run>-<thread>-<n>); carts come from a table drawn like the
# raw side's (Shop.cart). A placement refused with userErrors counts as a bad answer.
_WRK_LUA = r"""
local nthreads = 0
local base_setup = setup
function setup(thread)
  base_setup(thread)
  nthreads = nthreads + 1
  thread:set("thread_no", nthreads)
end

local sent = 0
function request()
  sent = sent + 1
  local cart = CARTS[((sent - 1) * 7 + (thread_no or 1)) % #CARTS + 1]
  local body = BODY_HEAD .. KEY_PREFIX .. (thread_no or 1) .. "-" .. sent .. cart
  return wrk.format(nil, nil, nil, body)
end

local base_response = response
function response(status, headers, body)
  base_response(status, headers, body)
  if status == 200 and body and not string.find(body, '"errors"', 1, true)
     and not string.find(body, '"userErrors":[]', 1, true) then
    bad = bad + 1
    if bad_sample == "" then bad_sample = "userErrors " .. string.sub(body, 1, 300) end
  end
end
"""


def wrk_script(shop: Shop, run_id: str, phase: str) -> str:
    """The Lua script of one wrk phase (warmup or measured: keys never repeat)."""
    head = json.dumps({"query": PLACE_ORDER})[:-1] + ', "variables": {"input": {"idempotencyKey": "'
    carts = []
    for n in range(2000 if shop.assortment else 1):
        store, sku_ids = shop.cart(n)
        lines = [{"skuId": str(sku), "quantity": 1} for sku in sku_ids]
        carts.append(
            '", "storeId": ' + json.dumps(str(store)) + ', "lines": ' + json.dumps(lines) + "}}}"
        )
    table = ",\n".join(loadgen._lua_string(c) for c in carts)
    request_lua = (
        f"BODY_HEAD = {loadgen._lua_string(head)}\n"
        f"KEY_PREFIX = {loadgen._lua_string(f'{GQL_KEY_PREFIX}{run_id}-{phase}')}\n"
        f"CARTS = {{{table}}}\n" + _WRK_LUA
    )
    return loadgen.lua_script(
        method="POST",
        headers={"content-type": "application/json", "authorization": f"Bearer {shop.token}"},
        request_lua=request_lua,
    )


async def run_wrk_side(
    side: Side, base_url: str, shop: Shop, run_id: str, args: argparse.Namespace, meter: CpuMeter
) -> None:
    """The GraphQL side driven by wrk: a warmup, then ``--seconds`` measured."""
    url = f"{base_url}/graphql"
    if args.warmup:
        await loadgen.run_wrk(
            url, wrk_script(shop, run_id, "w"), connections=args.clients, duration=3
        )
    before = meter.sample()
    result = await loadgen.run_wrk(
        url, wrk_script(shop, run_id, "m"), connections=args.clients, duration=args.seconds
    )
    side.wrk = result
    side.seconds = result.seconds
    side.cpu_ms = CpuMeter.per_order(before, meter.sample(), max(side.ok, 1))
    side.cpu_ms["bench"] = result.client_cpu_ms_per_request
    if result.bad_answers or result.socket_errors:
        side.failures[
            f"wrk: {result.bad_answers} bad answers, {result.socket_errors} socket "
            f"errors; first: {result.bad_sample[:300]}"
        ] += 1


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
        if args.client == "wrk":
            await run_wrk_side(side, base_url, shop, run_id, args, CpuMeter(proc.pid, postgres))
        else:
            limits = httpx.Limits(
                max_connections=args.clients, max_keepalive_connections=args.clients
            )
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
    tenant = shop.tenant_id
    buyer = "user:bench"

    async def place(n: int) -> str | None:
        store, sku_ids = shop.cart(n)
        lines = [(sku, 1) for sku in sku_ids]
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
            await transaction(order_id, key, digest, store, lines)
        except Refused as refused:  # rolled back: the transaction raised
            return str(refused)
        return None

    async def transaction(
        order_id: uuid.UUID,
        key: str,
        digest: str,
        store: uuid.UUID,
        lines: list[tuple[uuid.UUID, int]],
    ) -> None:
        sku_ids = [sku for sku, _ in lines]
        async with pool.acquire() as connection, connection.transaction():
            await connection.fetch(SQL_BIND, str(tenant))
            read = await connection.fetchrow(
                SQL_READ, tenant, key, digest, order_id, _now(), store, sku_ids
            )
            if read["claimed"] is None:
                raise Refused("idempotency key already claimed")
            if not read["store_found"]:
                raise Refused("store not found")
            skus = {uuid.UUID(item["id"]): item for item in _json(read["catalog"])}
            if len(skus) != len(sku_ids):
                raise Refused("SKU not found")
            if any(item["overrides"] for item in skus.values()):
                raise Refused("the bench's SKUs must have no channel or store price")
            setting = _json(read["settings"])
            timeout = (
                timedelta(seconds=setting["payment_timeout_seconds"])
                if setting is not None
                else DEFAULT_PAYMENT_TIMEOUT
            )
            stocked = {
                uuid.UUID(sku)
                for location, sku, available in _json(read["available"]) or ()
                if uuid.UUID(location) == store and available >= 1
            }
            if stocked != set(sku_ids):
                raise Refused("the bench's store must stock every SKU (one sub-order)")
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
                        product_id=uuid.UUID(skus[sku]["product_id"]),
                        category_id=(
                            uuid.UUID(skus[sku]["category_id"])
                            if skus[sku]["category_id"]
                            else None
                        ),
                        quantity=qty,
                        unit_price=unit[sku],
                    )
                    for sku, qty in lines
                ),
            )
            pricing_digest = request_hash(dataclasses.asdict(pricing))
            if await connection.fetch(SQL_ACTIVITIES, tenant, at):
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
            now = _now()
            placed = {
                "order_id": str(order_id),
                "number": "",
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
            change = {
                "tenant": str(tenant),
                "store": str(store),
                "order": str(order_id),
                "seq": 1,
                "event": "PLACE",
                "from": None,
                "to": "PLACED",
                "at": now.isoformat(),
            }
            line_amounts = {
                str(uuid.uuid5(order_id, f"line:{index + 1}")): amount
                for index, amount in enumerate(amounts)
            }
            for _ in range(5):  # a random number, drawn again on the rare collision
                placed["number"] = new_order_number(now)
                if await connection.fetch(
                    SQL_WRITE,
                    tenant,
                    order_id,
                    placed["number"],
                    store,
                    buyer,
                    currency,
                    total,
                    now,
                    f"store:{store}",
                    list(range(1, len(lines) + 1)),
                    sku_ids,
                    [skus[sku]["code"] for sku in sku_ids],
                    [skus[sku]["name"] for sku in sku_ids],
                    [unit[sku] for sku in sku_ids],
                    [qty for _, qty in lines],
                    amounts,
                    new_id(),
                    json.dumps(placed),
                    _now(),
                    new_id(),
                    json.dumps({"order_id": str(order_id)}),
                    now + timeout,
                    new_id(),
                    json.dumps(line_amounts),
                    json.dumps(change),
                ):
                    break
            else:
                raise Refused("could not draw a free order number")
            # The hot rows: locked from here to the COMMIT, as in the app.
            reserved = await connection.fetch(
                SQL_RESERVE,
                tenant,
                order_id,
                new_id(),
                [store] * len(lines),
                sku_ids,
                [qty for _, qty in lines],
                [uuid.UUID(skus[sku]["product_id"]) for sku in sku_ids],
                RESERVATION_EXPIRY_JOB,
                _now(),
                "AT_ORDER",
                int(DEFAULT_RESERVATION_TTL.total_seconds()),
            )
            if not all(row["taken"] for row in reserved):
                raise Refused("out of stock")
            if not all(row["held"] for row in reserved):
                raise Refused("the bench's tenant must deduct stock at order")

    return place


def _json(value: Any) -> Any:
    """asyncpg returns json as text on a connection without SQLAlchemy's codec."""
    return json.loads(value) if isinstance(value, str) else value


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
FROM stock.level l WHERE l.tenant_id = $1
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
            levels = await connection.fetch(SQL_LEVELS_CHECK, shop.tenant_id)
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


SPREAD_STORES = 20
SPREAD_SKUS = 500
SPREAD_STOCK = 1_000_000  # per SKU per store: one adjustment each


async def seed_spread(
    session: Any, tenant_id: uuid.UUID
) -> tuple[dict[uuid.UUID, list[uuid.UUID]], list[uuid.UUID]]:
    """``--spread``: 20 stores and 500 SKUs (one product each); each store stocks 100 of
    them (SKU ``i`` at the stores ``n`` with ``n % 5 == i % 5``), so orders that buy 3
    SKUs of one store's 100 rarely meet on a stock row. Returns store → its SKUs."""
    stores = [
        (
            await store_api.create_store(
                session, tenant_id, code=f"SPREAD-{n}", name=f"Store {n}", timezone="Asia/Shanghai"
            )
        ).id
        for n in range(SPREAD_STORES)
    ]
    assortment: dict[uuid.UUID, list[uuid.UUID]] = {store_id: [] for store_id in stores}
    catalog: list[uuid.UUID] = []
    for index in range(SPREAD_SKUS):
        _, skus = await product_api.create_product(
            session,
            tenant_id,
            name=f"Menu item {index}",
            skus=[
                product_api.NewSku(
                    code=f"MENU-{index}", name=f"Menu item {index}", price_amount=100 + index * 7
                )
            ],
        )
        catalog.append(skus[0].id)
        for n, store_id in enumerate(stores):
            if n % 5 != index % 5:
                continue
            assortment[store_id].append(skus[0].id)
            await stock_api.adjust(
                session,
                tenant_id,
                idempotency_key=f"bench-spread-{skus[0].id}-{store_id}",
                store_id=store_id,
                sku_id=skus[0].id,
                delta=SPREAD_STOCK,
                reason="received",
            )
    return assortment, catalog


async def seed(url: str, spread: bool = False) -> Shop:
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
            assortment, _ = await seed_spread(session, tenant.id) if spread else ({}, [])
        # The seed's own events (stock received, products created) have no subscriber
        # here; marked published now, so the server's outbox dispatcher does not fan
        # thousands of them out while the GraphQL side is measured.
        async with db.unit_of_work() as session:
            await session.execute(
                sa.text(
                    "UPDATE kernel.outbox_event SET published_at = now()"
                    " WHERE tenant_id = :t AND published_at IS NULL"
                ),
                {"t": tenant.id},
            )
    finally:
        await db.dispose()
    token = mint_dev_token(settings, tenant_id=tenant.id, subject_id="bench")
    return Shop(
        tenant_id=tenant.id,
        store_id=store.id,
        sku_ids=sku_ids,
        token=token,
        assortment=assortment,
    )


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
        f"{args.warmup} warmup, 3 lines per order, "
        + (
            f"3 of {SPREAD_SKUS} SKUs at one of {SPREAD_STORES} stores (--spread)"
            if args.spread
            else "one tenant/store/3 SKUs shared"
        )
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
        f"client = the GraphQL side's load generator, {args.client})"
    )


# --- main -------------------------------------------------------------------------------


async def run(url: str, embedded: bool, args: argparse.Namespace) -> int:
    run_id = secrets.token_hex(4)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    shop = await seed(url, spread=args.spread)
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
    parser.add_argument(
        "--client",
        choices=("wrk", "httpx"),
        default="wrk" if shutil.which("wrk") else "httpx",
        help="what drives the GraphQL side: wrk (C, Lua; default when installed) for "
        "--seconds, or Python's httpx for --orders",
    )
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="measured seconds with wrk (20)"
    )
    parser.add_argument(
        "--spread",
        action="store_true",
        help=f"each order buys 3 SKUs at one of {SPREAD_STORES} stores, {SPREAD_SKUS} SKUs in all",
    )
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
