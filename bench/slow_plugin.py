"""A slow or hanging plugin does not slow ``placeOrder``: three sides in one run.

1. a fresh database ``zt_bench_<random>`` on the embedded PostgreSQL (or the server of
   ``ZHONGTAI_DATABASE_URL``), migrated, dropped at the end even on failure;
2. the real app (``kernel.app.create_app`` over the composed schema) served by uvicorn on
   127.0.0.1 in this process, with the outbox dispatcher running as its background task
   in the same event loop, as in production;
3. per side, a fresh tenant with a store and 3 SKUs (seeded through the centers' ``api``)
   and ``--clients`` keep-alive HTTP clients POSTing ``placeOrder``, ``--orders`` per side
   after ``--warmup``, in ``--rounds`` interleaved rounds (the sides take turns, in a
   rotating order):
   - **no plugin** — the dispatcher runs, nothing subscribes;
   - **slow plugin** — every ``order.placed`` goes to a plugin that takes ``--delay``
     seconds per event (and succeeds);
   - **hanging plugin** — a plugin that never answers: every call runs into the call
     timeout (``--timeout``), then the circuit breaker opens;
4. a table: orders/s, p50 and p99 per side, the ratios to "no plugin", and what the
   dispatcher did for each side's tenant (delivered, pending, failed attempts, status).

Any failed order makes the script exit non-zero. See docs/plugins.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import secrets
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from centers.product import api as product_api
from centers.stock import api as stock_api
from centers.store import api as store_api
from kernel.app import create_app
from kernel.authn import mint_dev_token
from kernel.authz.rules import assign_role
from kernel.db import Database, to_asyncpg_url
from kernel.dispatch import Dispatcher, deliveries
from kernel.embedded_postgres import start_embedded_postgres
from kernel.migrate import upgrade
from kernel.plugins import storage
from kernel.plugins.manifest import DeliveredEvent, PluginContext, PluginManifest
from kernel.plugins.registry import PluginRegistry
from kernel.plugins.sealing import Sealer
from kernel.plugins.settings import PluginSettings
from kernel.settings import Settings
from schema.subgraphs import served_api

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / ".zhongtai" / "bench"
PRICES = (1200, 800, 350)
PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id } userErrors { code message } }
}
"""


class NoSettings(BaseModel):
    pass


class SlowPlugin:
    """Takes ``DELAY`` seconds per event (a slow ERP), then succeeds."""

    delay = 0.2

    def __init__(self, context: PluginContext) -> None:
        self.delivered = 0

    async def handle_event(self, event: DeliveredEvent) -> None:
        await asyncio.sleep(self.delay)

    async def check_health(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class HangingPlugin(SlowPlugin):
    """Never answers."""

    async def handle_event(self, event: DeliveredEvent) -> None:
        await asyncio.Event().wait()


SLOW = PluginManifest(
    name="bench-slow",
    version="1.0.0",
    title="slow",
    ports=("order.OrderSink",),
    settings_model=NoSettings,
    factory=SlowPlugin,
    topics=("order.placed",),
)
HANGING = PluginManifest(
    name="bench-hanging",
    version="1.0.0",
    title="hanging",
    ports=("order.OrderSink",),
    settings_model=NoSettings,
    factory=HangingPlugin,
    topics=("order.placed",),
)


@dataclass
class Shop:
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    sku_ids: list[uuid.UUID]
    token: str


@dataclass
class Side:
    name: str
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    seconds: float = 0.0
    dispatch: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return math.nan
        return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)] * 1000


async def seed(db: Database, settings: Settings, plugin: PluginManifest | None) -> Shop:
    async with db.unit_of_work() as session:
        tenant = await store_api.create_tenant(
            session, slug=f"bench-{secrets.token_hex(4)}", name="Bench brand"
        )
    async with db.unit_of_work() as session:
        store = await store_api.create_store(
            session, tenant.id, code="BENCH-1", name="Bench store", timezone="Asia/Shanghai"
        )
        sku_ids = []
        for index, price in enumerate(PRICES):
            _, skus = await product_api.create_product(
                session,
                tenant.id,
                name=f"Dish {index}",
                skus=[
                    product_api.NewSku(code=f"B-{index}", name=f"Dish {index}", price_amount=price)
                ],
            )
            sku_ids.append(skus[0].id)
            await stock_api.adjust(
                session,
                tenant.id,
                idempotency_key=f"seed-{skus[0].id}",
                store_id=store.id,
                sku_id=skus[0].id,
                delta=1_000_000,
                reason="received",
            )
        await assign_role(session, tenant.id, "user:bench", "cashier")
        if plugin is not None:
            sealer = Sealer.from_settings(PluginSettings(environment="test"))
            await storage.configure(session, tenant.id, plugin, {}, sealer)
            await storage.set_enabled(session, tenant.id, plugin, True, sealer)
    token = mint_dev_token(settings, tenant_id=tenant.id, subject_id="bench")
    return Shop(tenant.id, store.id, sku_ids, token)


async def drive(base_url: str, shop: Shop, side: Side, orders: int, clients: int) -> None:
    counter = iter(range(orders))
    headers = {"authorization": f"Bearer {shop.token}"}

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
            for _ in counter:
                variables = {
                    "input": {
                        "idempotencyKey": secrets.token_hex(8),
                        "storeId": str(shop.store_id),
                        "lines": [{"skuId": str(s), "quantity": 1} for s in shop.sku_ids],
                    }
                }
                started = time.perf_counter()
                response = await client.post(
                    "/graphql", json={"query": PLACE, "variables": variables}
                )
                elapsed = time.perf_counter() - started
                body = response.json()
                payload = (body.get("data") or {}).get("placeOrder") or {}
                if response.status_code != 200 or not payload.get("order"):
                    side.failures += 1
                    if side.failures <= 3:
                        print(f"  failed: {str(body)[:300]}", file=sys.stderr)
                else:
                    side.latencies.append(elapsed)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    side.seconds = time.perf_counter() - started


async def dispatch_state(db: Database, tenant_id: uuid.UUID) -> dict[str, Any]:
    """What the dispatcher did for the side's one subscriber."""
    async with db.unit_of_work(tenant_id) as session:
        health = await storage.health_of(session, tenant_id)
        counts = await deliveries.counts(session, tenant_id)
    for name, value in health.items():
        return {
            "delivered": value.delivered_count,
            "failed attempts": value.failed_count,
            "pending": counts[name].pending if name in counts else 0,
            "last error": value.last_error,
        }
    return {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def run(url: str, args: argparse.Namespace) -> int:
    settings = Settings(environment="test", database_url=url, jobs_enabled=False)
    app = create_app(served_api(), settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
        if serving.done():
            await serving
            return 1
    db: Database = app.state.runtime.db
    SlowPlugin.delay = args.delay
    dispatcher = Dispatcher(
        db,
        registry=PluginRegistry([SLOW, HANGING]),
        settings=PluginSettings(
            environment="test",
            plugin_call_timeout_seconds=args.timeout,
            dispatch_interval_seconds=0.2,
        ),
    )
    dispatcher.start()
    names = ("no plugin", "slow plugin", "hanging plugin")
    plugins = (None, SLOW, HANGING)
    base_url = f"http://127.0.0.1:{port}"
    sides = [Side(name) for name in names]
    try:
        shops = [await seed(db, settings, plugin) for plugin in plugins]
        for shop in shops:
            await drive(base_url, shop, Side("warmup"), args.warmup, args.clients)
        # Rounds rotate the order of the sides, so the machine's drift and the warm-up
        # of caches weigh on each side alike.
        per_round = max(1, args.orders // args.rounds)
        for round_no in range(args.rounds):
            for index in range(3):
                which = (round_no + index) % 3
                print(f"round {round_no + 1}: {names[which]}…", flush=True)
                part = Side(names[which])
                await drive(base_url, shops[which], part, per_round, args.clients)
                sides[which].latencies += part.latencies
                sides[which].failures += part.failures
                sides[which].seconds += part.seconds
        # Let the dispatcher catch up: the slow calls finish, the hanging ones time out.
        await asyncio.sleep(max(args.delay, args.timeout) + 1.0)
        for side, shop in zip(sides, shops, strict=True):
            side.dispatch = await dispatch_state(db, shop.tenant_id)
    finally:
        await dispatcher.stop()
        server.should_exit = True
        await serving

    print()
    print(
        f"environment: {os.cpu_count()} cores, load before the run "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.clients} clients, "
        f"{args.orders} orders per side in {args.rounds} rounds, plugin delay {args.delay}s, "
        f"call timeout {args.timeout}s"
    )
    header = f"{'side':<16}{'orders':>8}{'failed':>8}{'orders/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'vs none':>9}"
    print(header)
    print("-" * len(header))
    base = sides[0].rate
    for side in sides:
        print(
            f"{side.name:<16}{len(side.latencies):>8}{side.failures:>8}{side.rate:>10.0f}"
            f"{side.percentile(50):>9.1f}{side.percentile(99):>9.1f}"
            f"{(side.rate / base if base else 0):>8.2f}x"
        )
    print()
    for side in sides[1:]:
        print(f"dispatcher, {side.name}: {side.dispatch}")
    return 1 if any(s.failures for s in sides) else 0


async def admin(server_url: str, sql: str) -> None:
    connection = await asyncpg.connect(server_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--orders", type=int, default=400, help="orders per side (400)")
    parser.add_argument("--warmup", type=int, default=50, help="warmup orders per side (50)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--delay", type=float, default=0.2, help="slow plugin seconds per event")
    parser.add_argument("--timeout", type=float, default=2.0, help="plugin call timeout (s)")
    args = parser.parse_args()
    if args.clients < 1 or args.orders < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--clients and --orders must be positive, --warmup not negative")
    configured = os.environ.get("ZHONGTAI_DATABASE_URL")
    server_url = to_asyncpg_url(configured) if configured else start_embedded_postgres(DATA_DIR)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    name = f"zt_bench_{secrets.token_hex(4)}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        upgrade(url)
        return asyncio.run(run(url, args))
    finally:
        asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    sys.exit(main())
