"""Read pages over HTTP against the same data as ONE raw SQL statement each, in one run.

1. a fresh database ``zt_bench_<random>`` on the embedded PostgreSQL (or the server of
   ``ZHONGTAI_DATABASE_URL``), migrated, dropped at the end even on failure;
2. the data sizes asked for (``--size``): ``small`` is the demo brand (``schema/demo.py``)
   plus 60 orders placed through the API (40 by staff at the till, 20 by the demo
   customer); ``large`` is a brand with 200 products / 600 SKUs / 20 stores and
   100,000 orders written with ``generate_series`` (``bench/large_tenant.py``);
3. the real server (``zhongtai serve``) on a free loopback port, as it ships (known reads
   compiled, decision 0150) and then with ``ZHONGTAI_COMPILED_READS=false`` (the generic
   path alone; ``--paths`` picks one);
4. for every page and size: the GraphQL answer and the raw twin's JSON must be equal
   (else the bench fails: the two sides would not do the same work); then ``wrk`` drives
   the page over HTTP with ``--connections`` keep-alive connections for ``--duration``
   seconds (after ``--warmup`` seconds), and the raw twin runs on an asyncpg pool of the
   same size for the same time;
5. a table: requests/s, p50/p99, CPU ms per request of the server, of wrk, of the bench
   process (raw side) and of PostgreSQL, and the GraphQL/raw ratio.

The raw twin of a page is one SQL statement that builds the page's ``data`` as JSON in
PostgreSQL (``json_agg``/``json_build_object``), prepared once per connection, with the
same filters, order and limits as the API's statements and the same rules the resolvers
apply in Python (the most specific channel/store price, zero stock when never stocked,
the promotions whose scope covers the SKU). It does not pay for what the API does around
the data (HTTP, JWT, authorization, the RLS role and tenant setting, the transaction):
it is the floor. See docs/performance.md ("Reads").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import re
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import cpu
import httpx
import live_server
import loadgen
from sqlalchemy.engine import make_url

from kernel.authn import mint_dev_token
from kernel.authz.rules import assign_role
from kernel.db import Database, create_engine, to_asyncpg_url
from kernel.embedded_postgres import start_embedded_postgres
from kernel.migrate import upgrade
from kernel.settings import Settings
from schema.demo import DEV_CUSTOMER, seed_demo

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / ".zhongtai" / "bench"
CHANNEL = "MINI_PROGRAM"
SMALL_STAFF_ORDERS = 40
SMALL_CUSTOMER_ORDERS = 20

# --- the pages: GraphQL, and the same data as one SQL statement ------------------------

MENU = """
query Menu($store: ID!) { products(first: 20) { edges { node { id name
  skus { id name code priceIn(channel: "MINI_PROGRAM", storeId: $store) { amount currency }
         stock(storeId: $store) { available } } } } } }
"""

ORDERS = """
{ orders(first: 20) { edges { node { id number status placedAt
  payable { amount currency } lines { lineNo skuName quantity payable { amount } } } } } }
"""

PRODUCT_DETAIL = """
query ProductDetail($id: ID!, $store: ID!) {
  product(id: $id) {
    id name description images
    attributes { name value }
    category { id name }
    skus {
      id code name
      specs { name value }
      price { amount currency }
      prices { channel storeId price { amount currency } }
      priceIn(channel: "MINI_PROGRAM", storeId: $store) { amount currency }
      stock(storeId: $store) { available onHand reserved }
      activePromotions { id name kind startsAt endsAt }
    }
  }
}
"""

ORDER_DETAIL = """
query OrderDetail($id: ID!) {
  order(id: $id) {
    id number status type channel placedAt
    listAmount { amount currency }
    discount { amount currency }
    payable { amount currency }
    paid { amount currency }
    lines {
      lineNo skuCode skuName quantity
      unitPrice { amount } amount { amount } discount { amount } payable { amount }
      discounts { source sourceId label amount { amount } }
    }
    payments { id tender status amount { amount currency } createdAt }
    shipments { id status carrier trackingNumber createdAt }
    history { at event fromStatus toStatus actor reason }
  }
}
"""

# Sku.priceIn: the most specific price set (channel and store 3, store 2, channel 1),
# else the list price; channel codes compare in lower case (catalog.pick_price).
# ``s`` is the SKU row; $store and $channel are the page's parameters.
_PRICE_IN = """
json_build_object(
  'amount', coalesce((
    SELECT sp.price_amount FROM product.sku_price sp
    WHERE sp.tenant_id = s.tenant_id AND sp.sku_id = s.id
      AND sp.channel IN ('', lower({channel}))
      AND sp.store_id IN ('00000000-0000-0000-0000-000000000000'::uuid, {store})
    ORDER BY (sp.store_id <> '00000000-0000-0000-0000-000000000000'::uuid)::int * 2
           + (sp.channel <> '')::int DESC
    LIMIT 1), s.price_amount),
  'currency', s.currency)
"""

SQL_MENU = f"""
SELECT json_build_object('products', json_build_object('edges', coalesce(json_agg(
  json_build_object('node', json_build_object(
    'id', p.id, 'name', p.name,
    'skus', (
      SELECT coalesce(json_agg(json_build_object(
        'id', s.id, 'name', s.name, 'code', s.code,
        'priceIn', {_PRICE_IN.format(channel="$3::text", store="$2::uuid")},
        -- Sku.stock: a level never stocked reads as zero
        'stock', json_build_object('available', coalesce((
          SELECT l.on_hand - l.reserved FROM stock.level l
          WHERE l.tenant_id = s.tenant_id AND l.store_id = $2 AND l.sku_id = s.id), 0))
      ) ORDER BY s.code), '[]'::json)
      FROM product.sku s WHERE s.tenant_id = p.tenant_id AND s.product_id = p.id)
  )) ORDER BY p.id), '[]'::json)))::text
FROM (SELECT tenant_id, id, name FROM product.product
      WHERE tenant_id = $1 ORDER BY id LIMIT 20) p
"""  # noqa: S608 (built from this module's constants)

_ORDERS_PAGE = """
SELECT json_build_object('orders', json_build_object('edges', coalesce(json_agg(
  json_build_object('node', json_build_object(
    'id', o.id, 'number', o.number, 'status', o.status, 'placedAt', o.placed_at,
    'payable', json_build_object('amount', o.total_amount, 'currency', o.currency),
    'lines', (
      SELECT coalesce(json_agg(json_build_object(
        'lineNo', l.line_no, 'skuName', l.sku_name, 'quantity', l.quantity,
        'payable', json_build_object('amount', l.payable_amount)
      ) ORDER BY l.line_no), '[]'::json)
      FROM "order".order_line l WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id)
  )) ORDER BY o.id DESC), '[]'::json)))::text
FROM (SELECT * FROM "order".trade_order
      WHERE tenant_id = $1 {buyer} ORDER BY id DESC LIMIT 20) o
"""
# Staff holding tenant_admin read every order; a customer only their own (OrderReach).
SQL_ORDERS_STAFF = _ORDERS_PAGE.format(buyer="")
SQL_ORDERS_CUSTOMER = _ORDERS_PAGE.format(buyer="AND buyer_subject = $2")

SQL_PRODUCT_DETAIL = f"""
WITH live AS (  -- promotion.repository._LIVE_ACTIVITIES
  SELECT a.id, a.name, a.kind, a.starts_at, a.ends_at, a.priority, a.scope
  FROM promotion.activity a
  WHERE a.tenant_id = $1 AND a.status = 'ACTIVE' AND a.ends_at > now() AND a.starts_at <= now()
  ORDER BY a.priority DESC, a.id LIMIT 500
)
SELECT json_build_object('product', (
  SELECT json_build_object(
    'id', p.id, 'name', p.name, 'description', p.description, 'images', p.images,
    'attributes', (
      SELECT coalesce(json_agg(json_build_object('name', a.key, 'value', a.value)
                               ORDER BY a.n), '[]'::json)
      FROM jsonb_each_text(p.attributes) WITH ORDINALITY AS a(key, value, n)),
    'category', (
      SELECT json_build_object('id', c.id, 'name', c.name) FROM product.category c
      WHERE c.tenant_id = p.tenant_id AND c.id = p.category_id),
    'skus', (
      SELECT coalesce(json_agg(json_build_object(
        'id', s.id, 'code', s.code, 'name', s.name,
        'specs', (
          SELECT coalesce(json_agg(json_build_object('name', x.key, 'value', x.value)
                                   ORDER BY x.n), '[]'::json)
          FROM jsonb_each_text(s.specs) WITH ORDINALITY AS x(key, value, n)),
        'price', json_build_object('amount', s.price_amount, 'currency', s.currency),
        'prices', (
          SELECT coalesce(json_agg(json_build_object(
            'channel', nullif(sp.channel, ''),
            'storeId', nullif(sp.store_id, '00000000-0000-0000-0000-000000000000'::uuid),
            'price', json_build_object('amount', sp.price_amount, 'currency', s.currency)
          ) ORDER BY sp.channel, sp.store_id), '[]'::json)
          FROM product.sku_price sp WHERE sp.tenant_id = s.tenant_id AND sp.sku_id = s.id),
        'priceIn', {_PRICE_IN.format(channel="$4::text", store="$3::uuid")},
        'stock', (
          SELECT json_build_object('available', coalesce(l.on_hand - l.reserved, 0),
                                   'onHand', coalesce(l.on_hand, 0),
                                   'reserved', coalesce(l.reserved, 0))
          FROM (SELECT 1) one LEFT JOIN stock.level l
            ON l.tenant_id = s.tenant_id AND l.store_id = $3 AND l.sku_id = s.id),
        -- promotion skus._covers: an activity without goods covers every SKU; else the
        -- SKU or its product must be listed
        'activePromotions', (
          SELECT coalesce(json_agg(json_build_object(
            'id', v.id, 'name', v.name, 'kind', v.kind,
            'startsAt', v.starts_at, 'endsAt', v.ends_at
          ) ORDER BY v.priority DESC, v.id), '[]'::json)
          FROM live v
          WHERE (coalesce(v.scope -> 'sku_ids', '[]') IN ('[]', 'null')
                 AND coalesce(v.scope -> 'product_ids', '[]') IN ('[]', 'null')
                 AND coalesce(v.scope -> 'category_ids', '[]') IN ('[]', 'null'))
             OR coalesce(v.scope -> 'sku_ids', '[]') ? s.id::text
             OR coalesce(v.scope -> 'product_ids', '[]') ? p.id::text)
      ) ORDER BY s.code), '[]'::json)
      FROM product.sku s WHERE s.tenant_id = p.tenant_id AND s.product_id = p.id)
  )
  FROM product.product p WHERE p.tenant_id = $1 AND p.id = $2))::text
"""  # noqa: S608 (built from this module's constants)

SQL_ORDER_DETAIL = """
SELECT json_build_object('order', (
  SELECT json_build_object(
    'id', o.id, 'number', o.number, 'status', o.status, 'type', o.order_type,
    'channel', o.channel, 'placedAt', o.placed_at,
    'listAmount', json_build_object('amount', o.list_amount, 'currency', o.currency),
    'discount', json_build_object('amount', o.discount_amount, 'currency', o.currency),
    'payable', json_build_object('amount', o.total_amount, 'currency', o.currency),
    'paid', json_build_object('amount', o.paid_amount, 'currency', o.currency),
    'lines', (
      SELECT coalesce(json_agg(json_build_object(
        'lineNo', l.line_no, 'skuCode', l.sku_code, 'skuName', l.sku_name,
        'quantity', l.quantity,
        'unitPrice', json_build_object('amount', l.unit_price_amount),
        'amount', json_build_object('amount', l.line_amount),
        'discount', json_build_object('amount', l.discount_amount),
        'payable', json_build_object('amount', l.payable_amount),
        'discounts', (
          SELECT coalesce(json_agg(json_build_object(
            'source', d.source, 'sourceId', d.source_id, 'label', d.label,
            'amount', json_build_object('amount', d.amount)
          ) ORDER BY d.seq), '[]'::json)
          FROM "order".order_line_discount d
          WHERE d.tenant_id = l.tenant_id AND d.order_id = l.order_id AND d.line_no = l.line_no)
      ) ORDER BY l.line_no), '[]'::json)
      FROM "order".order_line l WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id),
    'payments', (
      SELECT coalesce(json_agg(json_build_object(
        'id', y.id, 'tender', y.tender, 'status', y.status,
        'amount', json_build_object('amount', y.amount, 'currency', y.currency),
        'createdAt', y.created_at
      ) ORDER BY y.id), '[]'::json)
      FROM payment.payment y WHERE y.tenant_id = o.tenant_id AND y.order_id = o.id),
    -- a shipment belongs to its order and to every order whose lines it carries (合单);
    -- one merged into another is no longer listed
    'shipments', (
      SELECT coalesce(json_agg(json_build_object(
        'id', sh.id, 'status', sh.status, 'carrier', sh.carrier,
        'trackingNumber', sh.tracking_number, 'createdAt', sh.created_at
      ) ORDER BY sh.id), '[]'::json)
      FROM fulfillment.shipment sh
      WHERE sh.tenant_id = o.tenant_id AND sh.status <> 'MERGED' AND sh.id IN (
        SELECT sl.shipment_id FROM fulfillment.shipment_line sl
        WHERE sl.tenant_id = o.tenant_id AND sl.order_id = o.id
        UNION SELECT s2.id FROM fulfillment.shipment s2
        WHERE s2.tenant_id = o.tenant_id AND s2.order_id = o.id)),
    'history', (
      SELECT coalesce(json_agg(json_build_object(
        'at', h.at, 'event', h.event, 'fromStatus', h.from_status, 'toStatus', h.to_status,
        'actor', h.actor, 'reason', h.reason
      ) ORDER BY h.seq), '[]'::json)
      FROM "order".order_history h WHERE h.tenant_id = o.tenant_id AND h.order_id = o.id)
  )
  FROM "order".trade_order o WHERE o.tenant_id = $1 AND o.id = $2))::text
"""


@dataclass(frozen=True)
class Page:
    name: str
    query: str
    variables: dict[str, Any]
    token: str
    sql: str
    args: tuple[Any, ...]


@dataclass
class Dataset:
    """One data size: its tenant and what its pages read."""

    size: str
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    admin_token: str
    customer_subject: str
    customer_token: str
    product_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    notes: list[str] = field(default_factory=list)
    brand: Any = None  # large_tenant.Brand, finished once the server runs

    def pages(self) -> list[Page]:
        assert self.product_id is not None and self.order_id is not None
        t, store = self.tenant_id, self.store_id
        return [
            Page(
                "menu", MENU, {"store": str(store)}, self.admin_token, SQL_MENU, (t, store, CHANNEL)
            ),
            Page("orders (staff)", ORDERS, {}, self.admin_token, SQL_ORDERS_STAFF, (t,)),
            Page(
                "orders (customer)",
                ORDERS,
                {},
                self.customer_token,
                SQL_ORDERS_CUSTOMER,
                (t, self.customer_subject),
            ),
            Page(
                "product detail",
                PRODUCT_DETAIL,
                {"id": str(self.product_id), "store": str(store)},
                self.admin_token,
                SQL_PRODUCT_DETAIL,
                (t, self.product_id, store, CHANNEL),
            ),
            Page(
                "order detail",
                ORDER_DETAIL,
                {"id": str(self.order_id)},
                self.admin_token,
                SQL_ORDER_DETAIL,
                (t, self.order_id),
            ),
        ]


class BenchFailure(Exception):
    pass


# --- did both sides read the same data? ------------------------------------------------

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$")


def normalized(value: Any) -> Any:
    """Timestamps as instants: PostgreSQL writes ``…:05.12+00:00`` where Python writes
    ``…:05.120000+00:00`` for the same instant. Everything else is compared as is."""
    if isinstance(value, dict):
        return {key: normalized(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalized(item) for item in value]
    if isinstance(value, str) and _TIMESTAMP.match(value):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def first_difference(left: Any, right: Any, path: str = "data") -> str | None:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right)):
            if key not in left or key not in right:
                return f"{path}.{key}: only on the {'raw' if key in right else 'GraphQL'} side"
            found = first_difference(left[key], right[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return f"{path}: {len(left)} items (GraphQL) vs {len(right)} (raw)"
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    if left != right:
        return f"{path}: {left!r} (GraphQL) vs {right!r} (raw)"
    return None


def size_of(data: Any) -> str:
    """What a page returned, in numbers of objects (to show the pages are not empty)."""
    counts: dict[str, int] = {}

    def walk(value: Any, key: str) -> None:
        if isinstance(value, list):
            counts[key] = counts.get(key, 0) + len(value)
            for item in value:
                walk(item, key)
        elif isinstance(value, dict):
            for name, item in value.items():
                walk(item, name)

    walk(data, "data")
    return ", ".join(f"{n} {k}" for k, n in counts.items() if n)


async def check_page(client: httpx.AsyncClient, pool: asyncpg.Pool, page: Page) -> str:
    """Both answers, compared; returns what the page holds. Raises on any difference."""
    response = await client.post(
        "/graphql",
        json={"query": page.query, "variables": page.variables},
        headers={"authorization": f"Bearer {page.token}"},
    )
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise BenchFailure(f"{page.name}: GraphQL answered {response.status_code}: {body}")
    async with pool.acquire() as connection:
        raw = json.loads(await connection.fetchval(page.sql, *page.args))
    difference = first_difference(normalized(body["data"]), normalized(raw))
    if difference:
        raise BenchFailure(f"{page.name}: the raw twin differs from GraphQL at {difference}")
    return size_of(body["data"])


# --- the two sides ------------------------------------------------------------------------


@dataclass
class Measure:
    side: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_ms: dict[str, float]  # per request: server, client, raw (bench), postgres
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def measure_graphql(
    server: live_server.LiveServer,
    page: Page,
    args: argparse.Namespace,
    postgres: cpu.Postgres | None,
) -> Measure:
    script = loadgen.lua_script(
        method="POST",
        body=json.dumps({"query": page.query, "variables": page.variables}),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {page.token}"},
    )
    if args.warmup:
        await loadgen.run_wrk(
            server.graphql_url, script, connections=args.connections, duration=args.warmup
        )
    meter = cpu.CpuMeter(server.pid, postgres)
    meter.start()
    result = await loadgen.run_wrk(
        server.graphql_url, script, connections=args.connections, duration=args.duration
    )
    used = meter.stop()
    n = max(result.requests, 1)
    if result.bad_answers or result.socket_errors:
        print(
            f"  {page.name}: {result.bad_answers} bad answers, {result.socket_errors} socket "
            f"errors; first: {result.bad_sample[:300]}",
            file=sys.stderr,
        )
    return Measure(
        side="GraphQL",
        requests=result.requests,
        seconds=result.seconds,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        cpu_ms={
            "server": used.get("server", math.nan) * 1000 / n,
            "client": result.client_cpu_ms_per_request,
            **({"postgres": used["postgres"] * 1000 / n} if "postgres" in used else {}),
        },
        errors=result.bad_answers + result.socket_errors,
    )


async def measure_raw(
    pool: asyncpg.Pool, page: Page, args: argparse.Namespace, postgres: cpu.Postgres | None
) -> Measure:
    latencies: list[float] = []
    errors = 0

    async def worker(until: float, record: bool) -> None:
        nonlocal errors
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                async with pool.acquire() as connection:
                    text = await connection.fetchval(page.sql, *page.args)
                if not text:
                    errors += 1
                    continue
            except (asyncpg.PostgresError, OSError):
                errors += 1
                continue
            if record:
                latencies.append((time.perf_counter() - started) * 1000)

    async def phase(seconds: float, record: bool) -> float:
        until = time.monotonic() + seconds
        started = time.perf_counter()
        await asyncio.gather(*(worker(until, record) for _ in range(args.connections)))
        return time.perf_counter() - started

    if args.warmup:
        await phase(args.warmup, record=False)
    meter = cpu.CpuMeter(None, postgres)
    meter.start()
    seconds = await phase(args.duration, record=True)
    used = meter.stop()
    n = max(len(latencies), 1)
    ordered = sorted(latencies)
    return Measure(
        side="raw SQL",
        requests=len(latencies),
        seconds=seconds,
        p50_ms=percentile(ordered, 50),
        p99_ms=percentile(ordered, 99),
        cpu_ms={
            "raw": used["bench"] * 1000 / n,
            **({"postgres": used["postgres"] * 1000 / n} if "postgres" in used else {}),
        },
        errors=errors,
    )


def percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return math.nan
    rank = math.ceil(p / 100 * len(ordered))  # nearest rank
    return ordered[min(len(ordered), max(rank, 1)) - 1]


# --- seeding --------------------------------------------------------------------------------


async def seed_small(url: str, settings: Settings) -> Dataset:
    """The demo brand, tokens for a tenant admin and for the demo customer (李雷's app
    account, who places the customer orders)."""
    db = Database(create_engine(url, settings))
    try:
        async with db.unit_of_work() as session:
            summary = await seed_demo(session)
        async with db.unit_of_work() as session:
            await assign_role(session, summary.tenant_id, "user:bench-admin", "tenant_admin")
            await assign_role(session, summary.tenant_id, f"user:{DEV_CUSTOMER}", "customer")
    finally:
        await db.dispose()
    tenant = summary.tenant_id
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        store = await connection.fetchval(
            "SELECT id FROM store.store WHERE tenant_id = $1 AND code = 'SH-001'", tenant
        )
        # The braised beef noodles: two SKUs with specs, a mini-program price.
        product = await connection.fetchval(
            "SELECT product_id FROM product.sku WHERE tenant_id = $1 AND code = 'BEEF-R'", tenant
        )
    finally:
        await connection.close()
    return Dataset(
        size="small",
        tenant_id=tenant,
        store_id=store,
        admin_token=mint_dev_token(settings, tenant_id=tenant, subject_id="bench-admin"),
        customer_subject=f"user:{DEV_CUSTOMER}",
        customer_token=mint_dev_token(settings, tenant_id=tenant, subject_id=DEV_CUSTOMER),
        product_id=product,
    )


PLACE = """
mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { id total { amount } }
  userErrors { code message } } }
"""
PAY = """
mutation($i: RecordCashPaymentInput!) { recordCashPayment(input: $i) { userErrors { code message } } }
"""
SHIP = """
mutation($i: CreateShipmentInput!) { createShipment(input: $i) { userErrors { code message } } }
"""


async def gql(client: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any]) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )
    body = response.json()
    if body.get("errors"):
        raise BenchFailure(f"seeding: {body['errors'][0]}")
    data = body["data"]
    for payload in data.values():
        if isinstance(payload, dict) and payload.get("userErrors"):
            raise BenchFailure(f"seeding: {payload['userErrors'][0]}")
    return data


async def place_small_orders(client: httpx.AsyncClient, url: str, data: Dataset) -> None:
    """60 orders through the API, as the issue's figures had: 40 by staff at the till
    (every other one paid in cash), 20 by the customer in the mini-program; then the
    order detail page's order: paid, and shipped from the store."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        skus = [
            row["id"]
            for row in await connection.fetch(
                "SELECT id FROM product.sku WHERE tenant_id = $1 ORDER BY code", data.tenant_id
            )
        ]
        li_lei = await connection.fetchval(
            "SELECT id FROM member.member WHERE tenant_id = $1 ORDER BY created_at LIMIT 1",
            data.tenant_id,
        )
    finally:
        await connection.close()
    run = secrets.token_hex(3)
    placed: list[tuple[str, int]] = []
    for n in range(SMALL_STAFF_ORDERS + SMALL_CUSTOMER_ORDERS):
        staff = n < SMALL_STAFF_ORDERS
        lines = [
            {"skuId": str(skus[(n + k) % len(skus)]), "quantity": 1 + (n + k) % 2} for k in range(3)
        ]
        answer = await gql(
            client,
            data.admin_token if staff else data.customer_token,
            PLACE,
            {
                "i": {
                    "idempotencyKey": f"bench-read-{run}-{n}",
                    "storeId": str(data.store_id),
                    "channel": "POS" if staff else CHANNEL,
                    "memberId": None if staff else str(li_lei),
                    "lines": lines,
                }
            },
        )
        order = answer["placeOrder"]["order"]
        placed.append((order["id"], order["total"]["amount"]))
        if staff and n % 2 == 0:
            await gql(
                client,
                data.admin_token,
                PAY,
                {
                    "i": {
                        "idempotencyKey": f"bench-read-{run}-{n}-cash",
                        "orderId": order["id"],
                        "amount": order["total"]["amount"],
                    }
                },
            )
    # The detail page's order: the first staff order (paid), with a shipment of its lines.
    detail_id = placed[0][0]
    await gql(
        client,
        data.admin_token,
        SHIP,
        {"i": {"orderId": detail_id, "storeId": str(data.store_id), "carrier": "SF"}},
    )
    data.order_id = uuid.UUID(detail_id)


# --- report ---------------------------------------------------------------------------------


def ms(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.2f}"


def print_table(rows: list[tuple[str, str, list[Measure], Measure]]) -> None:
    header = (
        f"{'size':<6}{'page':<19}{'side':<9}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'p99/p50':>8}   CPU ms/req: server / wrk / raw / postgres   {'GraphQL/raw':>11}"
    )
    print(header)
    print("-" * len(header))
    for size, name, graphqls, raw in rows:
        for measure in (*graphqls, raw):
            c = measure.cpu_ms
            ratio = f"{measure.rate / raw.rate:>10.3f}x" if measure is not raw and raw.rate else ""
            tail = measure.p99_ms / measure.p50_ms if measure.p50_ms else math.nan
            print(
                f"{size:<6}{name:<19}{measure.side:<9}{measure.rate:>8.0f}"
                f"{measure.p50_ms:>8.2f}{measure.p99_ms:>8.2f}{tail:>8.1f}"
                f"   {ms(c.get('server')):>17} / {ms(c.get('client')):>5} / "
                f"{ms(c.get('raw')):>5} / {ms(c.get('postgres')):>6}   {ratio}"
            )


def print_size_ratios(rows: list[tuple[str, str, list[Measure], Measure]]) -> None:
    """Server CPU per request at the large size over the small one, per page and path
    (issue 18 asks for at most 1.2x)."""
    cost = {
        (size, name, m.side): m.cpu_ms.get("server", math.nan)
        for size, name, graphqls, _ in rows
        for m in graphqls
    }
    ratios = [
        f"{name} ({side}) {cost[('large', name, side)] / small:.2f}x"
        for (size, name, side), small in cost.items()
        if size == "small" and ("large", name, side) in cost and small
    ]
    if ratios:
        print("\nserver CPU per request, large over small: " + ", ".join(ratios))


# --- main -------------------------------------------------------------------------------------


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def environment(url: str) -> dict[str, str]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return {
            name: str(await connection.fetchval(f"SHOW {name}"))
            for name in ("server_version", "shared_buffers", "max_connections")
        }
    finally:
        await connection.close()


# The server as it ships, and with known reads compiled off (the generic path alone).
PATHS: dict[str, dict[str, str]] = {
    "GraphQL": {},
    "generic": {"ZHONGTAI_COMPILED_READS": "false"},
}


async def finish_seeding(client: httpx.AsyncClient, url: str, data: Dataset) -> None:
    """What needs the running server: the small size's orders, the large's promotions
    and orders."""
    if data.size == "small":
        await place_small_orders(client, url, data)
    elif data.brand is not None:
        import large_tenant

        await large_tenant.finish(client, data.brand, url)
        data.order_id = data.brand.order_id
        data.notes += data.brand.notes


async def run(url: str, embedded: bool, args: argparse.Namespace) -> int:
    settings = Settings(database_url=url, environment="development")
    sizes = ["small", "large"] if args.size == "both" else [args.size]
    paths = (
        ["GraphQL", "generic"]
        if args.paths == "both"
        else ["GraphQL" if args.paths == "shipped" else "generic"]
    )
    datasets: list[Dataset] = []
    started = time.monotonic()
    if "small" in sizes:
        datasets.append(await seed_small(url, settings))
    if "large" in sizes:
        import large_tenant

        print("seeding the large tenant (200 products, 600 SKUs, 20 stores, 100,000 orders)…")
        brand = await large_tenant.seed(url, settings)
        datasets.append(
            Dataset(
                size="large",
                tenant_id=brand.tenant_id,
                store_id=brand.store_id,
                admin_token=brand.admin_token,
                customer_subject=brand.customer_subject,
                customer_token=brand.customer_token,
                product_id=brand.product_id,
                brand=brand,
            )
        )
    postgres = (
        cpu.Postgres.embedded(DATA_DIR / "pgdata", make_url(url).database or "")
        if embedded
        else None
    )
    env = await environment(url)
    run_id = secrets.token_hex(4)
    problems: list[str] = []
    measured: dict[tuple[str, str], list[Measure]] = {}
    pool = await asyncpg.create_pool(
        asyncpg_dsn(url),
        min_size=args.connections,
        max_size=args.connections,
        server_settings={"timezone": "UTC", "application_name": "zhongtai-bench-raw"},
    )
    load = ""
    try:
        for path in paths:
            server = await live_server.start(
                url, DATA_DIR / f"server-read-{run_id}-{path}.log", env=PATHS[path]
            )
            try:
                async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
                    if path == paths[0]:
                        for data in datasets:
                            await finish_seeding(client, url, data)
                        print(f"seeded in {time.monotonic() - started:.0f}s", flush=True)
                        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                    for data in datasets:
                        for page in selected(data.pages(), args):
                            holds = await check_page(client, pool, page)
                            print(
                                f"[{data.size}] {page.name} ({path}): same data on both sides "
                                f"({holds})",
                                flush=True,
                            )
                            graphql = await measure_graphql(server, page, args, postgres)
                            graphql.side = path
                            measured.setdefault((data.size, page.name), []).append(graphql)
            finally:
                problems += await live_server.stop(server)
        rows: list[tuple[str, str, list[Measure], Measure]] = []
        for data in datasets:
            for page in selected(data.pages(), args):
                raw = await measure_raw(pool, page, args, postgres)
                graphqls = measured[(data.size, page.name)]
                problems += [
                    f"{data.size} {page.name} ({m.side}): {m.errors} errors"
                    for m in (*graphqls, raw)
                    if m.errors
                ] + [
                    f"{data.size} {page.name} ({m.side}): no request completed in "
                    f"{args.duration:.0f}s (a longer --duration?)"
                    for m in (*graphqls, raw)
                    if not m.requests
                ]
                rows.append((data.size, page.name, graphqls, raw))
    finally:
        await pool.close()
    print()
    print(
        f"environment: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PostgreSQL {env['server_version']} (shared_buffers={env['shared_buffers']}), "
        f"{args.connections} connections, {args.duration:.0f}s per side after "
        f"{args.warmup:.0f}s warmup; load average before measuring {load}"
    )
    for data in datasets:
        for note in data.notes:
            print(f"  {data.size}: {note}")
    print()
    print_table(rows)
    print_size_ratios(rows)
    print(
        "\n(GraphQL = the server as it ships; generic = the same with ZHONGTAI_COMPILED_READS="
        "false;\n server = the zhongtai process; wrk = the load generator; raw = this process "
        "driving asyncpg;\n postgres = the backends of the bench database)"
    )
    if problems:
        print("\nproblems:", file=sys.stderr)
        for line in problems[:30]:
            print(f"  {line[:500]}", file=sys.stderr)
        return 1
    return 0


def selected(pages: list[Page], args: argparse.Namespace) -> list[Page]:
    return [p for p in pages if not args.pages or any(name in p.name for name in args.pages)]


async def admin(server_url: str, sql: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("small", "large", "both"), default="both")
    parser.add_argument(
        "--paths",
        choices=("shipped", "generic", "both"),
        default="both",
        help="the server as it ships (compiled known reads), the generic path alone "
        "(ZHONGTAI_COMPILED_READS=false), or both (default)",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per side (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each (2)")
    parser.add_argument("--connections", type=int, default=8, help="concurrency (8)")
    parser.add_argument(
        "--page", dest="pages", action="append", help="only pages whose name contains this"
    )
    args = parser.parse_args()
    if args.connections < 1 or args.duration < 1 or args.warmup < 0:
        parser.error("--connections and --duration must be positive, --warmup not negative")
    loadgen.wrk_path()  # fail early, with the fix, when wrk is missing

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
    except (BenchFailure, loadgen.LoadError, live_server.ServerFailure) as failure:
        print(f"bench failed: {failure}", file=sys.stderr)
        return 1
    finally:
        asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    sys.exit(main())
