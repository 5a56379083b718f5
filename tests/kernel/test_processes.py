"""Many processes on one database: 3 API processes (`serve --no-background`) and 2
workers (`zhongtai worker`), real OS processes on loopback, as an operator runs them.

Every job runs once, every delivery goes out once per subscriber, a subscriber on one
process hears what another process committed, and a policy changed through one process
holds on the others within a second. Also: `serve --workers 2` serves and stops cleanly.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from websockets.asyncio.client import connect

from centers.store import api as store_api
from kernel.authn import mint_dev_token
from kernel.db import Database, create_engine
from kernel.plugins import storage
from kernel.plugins.sealing import Sealer
from kernel.settings import Settings
from plugins.emulation import LoopbackServer
from tests.builders import Shop, open_shop
from tests.centers.order.flows import place_input
from tests.conftest import TenantFixture
from tests.kernel.dispatch.support import WebhookReceiver, plugin_settings
from tests.support.databases import migrated_database

ROOT = Path(__file__).resolve().parents[2]
# The checkout's own code, whatever the virtualenv's editable install points at.
ZHONGTAI = [sys.executable, "-c", "from schema.cli import main; main()"]
API_PROCESSES = 3
WORKERS = 2
STORES = "{ stores(first: 1) { edges { node { id } } } }"
PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id status } userErrors { code message } }
}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Fleet:
    """The processes of one deployment, their logs, and how to reach them."""

    url: str
    settings: Settings
    folder: Path
    api_ports: list[int]
    processes: list[tuple[str, subprocess.Popen[bytes]]]

    def api(self, index: int) -> str:
        return f"http://127.0.0.1:{self.api_ports[index % len(self.api_ports)]}"

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{(self.folder / f'{name}.log').read_text(errors='replace')[-3000:]}"
            for name, _ in self.processes
        )


def _environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ZHONGTAI_ENVIRONMENT": "test",
        "ZHONGTAI_DATABASE_URL": url,
        "ZHONGTAI_DB_POOL_SIZE": "4",
        "ZHONGTAI_DB_MAX_OVERFLOW": "4",
        "ZHONGTAI_JOBS_POLL_SECONDS": "0.2",
        "ZHONGTAI_DISPATCH_INTERVAL_SECONDS": "0.2",
        "ZHONGTAI_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
    }


def _start(
    folder: Path, name: str, args: list[str], env: dict[str, str]
) -> subprocess.Popen[bytes]:
    log = (folder / f"{name}.log").open("wb")
    return subprocess.Popen(  # noqa: S603 - our own CLI
        [*ZHONGTAI, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def _wait_ready(port: int, process: subprocess.Popen[bytes], within: float = 240) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited while starting"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"nothing ready on port {port}")


def _stop(processes: list[tuple[str, subprocess.Popen[bytes]]]) -> dict[str, int]:
    for _, process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    codes = {}
    for name, process in processes:
        try:
            codes[name] = process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            codes[name] = process.wait()
    return codes


def _assert_stopped_cleanly(name: str, code: int, log_file: Path) -> None:
    """Shut down on SIGTERM with its work finished: uvicorn ends the process by raising
    the signal again once the application has shut down (exit -15), a worker exits 0."""
    log = log_file.read_text(errors="replace")
    assert "Traceback" not in log, log
    if name.startswith("worker"):
        assert code == 0 and "worker stopped" in log, log
    else:
        assert code in (0, -signal.SIGTERM), log
        assert "Application shutdown complete." in log and "Finished server process" in log, log


@pytest.fixture(scope="module")
def fleet(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    folder = tmp_path_factory.mktemp("fleet")
    with migrated_database(database_url, "zt_fleet") as url:
        env = _environment(url)
        processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        ports = [_free_port() for _ in range(API_PROCESSES)]
        for index, port in enumerate(ports):
            args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-background"]
            processes.append((f"api-{index}", _start(folder, f"api-{index}", args, env)))
        for index in range(WORKERS):
            processes.append(
                (f"worker-{index}", _start(folder, f"worker-{index}", ["worker"], env))
            )
        fleet = Fleet(url, Settings(environment="test", database_url=url), folder, ports, processes)
        try:
            for (_, process), port in zip(processes, ports, strict=False):
                _wait_ready(port, process)
            yield fleet
        finally:
            codes = _stop(processes)
            for name, _ in processes:
                _assert_stopped_cleanly(name, codes[name], folder / f"{name}.log")


@dataclass
class Brand:
    tenant: TenantFixture
    shop: Shop
    db: Database


class _LocalPolicies:
    """This test process keeps no policy cache: the servers learn of changes by NOTIFY."""

    def invalidate(self, _tenant: uuid.UUID | None) -> None:
        return None


@dataclass
class _LocalRuntime:
    db: Database
    policies: _LocalPolicies


@pytest.fixture
async def brand(fleet: Fleet) -> AsyncIterator[Brand]:
    db = Database(create_engine(fleet.url, fleet.settings))
    try:
        slug = f"t-{uuid.uuid4().hex[:10]}"
        async with db.unit_of_work() as session:
            created = await store_api.create_tenant(session, slug=slug, name=slug)
        runtime: Any = _LocalRuntime(db, _LocalPolicies())
        tenant = TenantFixture(created.id, slug, runtime, fleet.settings)
        yield Brand(tenant, await open_shop(tenant), db)
    finally:
        await db.dispose()


async def _place(client: httpx.AsyncClient, base: str, token: str, shop: Shop) -> str:
    response = await client.post(
        f"{base}/graphql",
        json={"query": PLACE, "variables": place_input(shop, [1])},
        headers={"authorization": f"Bearer {token}"},
    )
    payload = response.json()["data"]["placeOrder"]
    assert payload["userErrors"] == [], payload
    return str(payload["order"]["id"])


async def _scalar(db: Database, tenant_id: uuid.UUID, sql: str) -> Any:
    async with db.unit_of_work(tenant_id) as session:
        return await session.scalar(sa.text(sql))


async def _eventually(check: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.1)


async def test_every_due_job_runs_once_across_the_workers(fleet: Fleet, brand: Brand) -> None:
    token = await brand.tenant.token("cashier")
    async with httpx.AsyncClient(timeout=30) as client:
        orders = [await _place(client, fleet.api(index), token, brand.shop) for index in range(12)]
    # Their payment timeouts fall due now: the two workers race for them.
    async with brand.db.unit_of_work(brand.tenant.id) as session:
        await session.execute(
            sa.text(
                "UPDATE kernel.scheduled_job SET due_at = now() "
                "WHERE tenant_id = :t AND kind = 'order.payment_timeout'"
            ),
            {"t": brand.tenant.id},
        )

    async def settled() -> bool:
        pending = await _scalar(
            brand.db,
            brand.tenant.id,
            "SELECT count(*) FROM kernel.scheduled_job "
            "WHERE kind = 'order.payment_timeout' AND status = 'pending'",
        )
        return int(pending) == 0

    await _eventually(settled, within=30)
    async with brand.db.unit_of_work(brand.tenant.id) as session:
        jobs = (
            await session.execute(
                sa.text(
                    "SELECT status, attempts FROM kernel.scheduled_job "
                    "WHERE kind = 'order.payment_timeout'"
                )
            )
        ).all()
        cancellations = await session.scalar(
            sa.text("SELECT count(*) FROM \"order\".order_history WHERE to_status = 'CANCELLED'")
        )
        statuses = set(
            (await session.scalars(sa.text('SELECT status FROM "order".trade_order'))).all()
        )
    assert len(orders) == 12
    assert [tuple(job) for job in jobs] == [("done", 1)] * 12
    assert cancellations == 12
    assert statuses == {"CANCELLED"}


async def test_each_delivery_goes_out_once_per_subscriber(fleet: Fleet, brand: Brand) -> None:
    sealer = Sealer.from_settings(plugin_settings())
    receivers = [WebhookReceiver(), WebhookReceiver()]
    async with (
        LoopbackServer(receivers[0].app) as first,
        LoopbackServer(receivers[1].app) as second,
    ):
        async with brand.db.unit_of_work(brand.tenant.id) as session:
            for receiver, server in zip(receivers, (first, second), strict=True):
                _, receiver.secret = await storage.register_webhook(
                    session,
                    brand.tenant.id,
                    url=f"{server.url}/hook",
                    topics=["order.*"],
                    sealer=sealer,
                    allow_private=True,
                )
        token = await brand.tenant.token("cashier")
        async with httpx.AsyncClient(timeout=30) as client:
            for index in range(9):
                await _place(client, fleet.api(index), token, brand.shop)
        expected = {
            str(event_id)
            for event_id in (
                await _scalars(
                    brand.db,
                    brand.tenant.id,
                    "SELECT id FROM kernel.outbox_event WHERE topic LIKE 'order.%'",
                )
            )
        }
        assert len(expected) >= 9

        async def delivered() -> bool:
            return all({e["id"] for e in r.raw} >= expected for r in receivers)

        await _eventually(delivered, within=30)
        await asyncio.sleep(1.0)  # a duplicate would have had time to arrive
    for receiver in receivers:
        ids = [event["id"] for event in receiver.raw]
        assert sorted(ids) == sorted(expected)
        assert receiver.rejected == 0


async def _scalars(db: Database, tenant_id: uuid.UUID, sql: str) -> list[Any]:
    async with db.unit_of_work(tenant_id) as session:
        return list((await session.scalars(sa.text(sql))).all())


SUBSCRIBE = """
subscription($store: ID!) { orderEvents(storeId: $store) { event order { id } } }
"""


async def test_a_subscriber_on_one_process_hears_a_commit_on_another(
    fleet: Fleet, brand: Brand
) -> None:
    token = await brand.tenant.token("cashier")
    url = fleet.api(0).replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as kitchen:  # type: ignore[list-item]
        await kitchen.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        assert json.loads(await asyncio.wait_for(kitchen.recv(), 5))["type"] == "connection_ack"
        await kitchen.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": SUBSCRIBE,
                        "variables": {"store": str(brand.shop.store_id)},
                    },
                }
            )
        )
        await asyncio.sleep(0.5)  # the source is LISTENing
        async with httpx.AsyncClient(timeout=30) as client:
            order_id = await _place(client, fleet.api(1), token, brand.shop)
        message = json.loads(await asyncio.wait_for(kitchen.recv(), 10))
    assert message["payload"]["data"]["orderEvents"] == {
        "event": "PLACE",
        "order": {"id": order_id},
    }


ASSIGN = """
mutation($input: RoleAssignmentInput!) {
  assignRole(input: $input) { policyVersion userErrors { code message } }
}
"""


async def test_a_policy_change_through_one_process_holds_on_the_others_within_a_second(
    fleet: Fleet, brand: Brand
) -> None:
    admin = await brand.tenant.token("tenant_admin")
    newcomer = f"newcomer-{uuid.uuid4().hex[:6]}"
    token = mint_dev_token(fleet.settings, tenant_id=brand.tenant.id, subject_id=newcomer)
    async with httpx.AsyncClient(timeout=30) as client:

        async def stores(index: int) -> dict[str, Any]:
            response = await client.post(
                f"{fleet.api(index)}/graphql",
                json={"query": STORES},
                headers={"authorization": f"Bearer {token}"},
            )
            body: dict[str, Any] = response.json()
            return body

        for index in (1, 2):  # each process has this tenant's policy cached
            refused = await stores(index)
            assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        changed = await client.post(
            f"{fleet.api(0)}/graphql",
            json={
                "query": ASSIGN,
                "variables": {"input": {"subject": f"user:{newcomer}", "role": "cashier"}},
            },
            headers={"authorization": f"Bearer {admin}"},
        )
        assert changed.json()["data"]["assignRole"]["userErrors"] == []
        changed_at = time.monotonic()
        for index in (1, 2):
            while "errors" in await stores(index):
                assert time.monotonic() - changed_at < 1.0, f"process {index} still refuses"
                await asyncio.sleep(0.05)


def test_serve_with_two_workers_answers_and_stops_gracefully(fleet: Fleet, tmp_path: Path) -> None:
    port = _free_port()
    env = {**_environment(fleet.url), "ZHONGTAI_DB_POOL_TOTAL": "6"}
    server = _start(
        tmp_path,
        "workers",
        ["serve", "--port", str(port), "--workers", "2", "--no-background"],
        env,
    )
    try:
        _wait_ready(port, server)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        # uvicorn's supervisor and its two workers (plus, on some platforms, a resource
        # tracker process).
        assert len(children) >= 2
        statuses = {httpx.get(f"http://127.0.0.1:{port}/ready").status_code for _ in range(20)}
        assert statuses == {200}
    finally:
        codes = _stop([("workers", server)])
    _assert_stopped_cleanly("api", codes["workers"], tmp_path / "workers.log")
    # Both worker processes finished their application shutdown.
    log = (tmp_path / "workers.log").read_text(errors="replace")
    assert log.count("Application shutdown complete.") == 2, log


def _metric(text: str, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_serve_with_two_workers_reports_each_metric_once(fleet: Fleet, tmp_path: Path) -> None:
    """Whichever worker answers /metrics, it reports both workers' counts, summed."""
    port = _free_port()
    env = {**_environment(fleet.url), "ZHONGTAI_DB_POOL_TOTAL": "6"}
    server = _start(
        tmp_path,
        "metrics",
        ["serve", "--port", str(port), "--workers", "2", "--no-background"],
        env,
    )
    try:
        _wait_ready(port, server)
        for _ in range(12):  # spread over both workers by the kernel's accept queue
            refused = httpx.post(
                f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"}
            )
            assert refused.status_code == 401
        for _ in range(6):
            text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            assert text.count("# TYPE zhongtai_db_pool_connections_limit gauge") == 1
            refusals = _metric(
                text, "zhongtai_graphql_errors_total", operation_type="none", code="UNAUTHENTICATED"
            )
            assert refusals == 12
            # Each worker's pool is 3 connections (6 shared by 2), summed over live workers.
            assert _metric(text, "zhongtai_db_pool_connections_limit") == 6
    finally:
        codes = _stop([("metrics", server)])
    _assert_stopped_cleanly("api", codes["metrics"], tmp_path / "metrics.log")


def _children(pid: int) -> set[int]:
    """The uvicorn worker processes of supervisor ``pid`` (not multiprocessing's
    resource tracker, which the supervisor starts too)."""
    workers = set()
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue  # gone meanwhile
        if b"spawn_main" in command:
            workers.add(int(child))
    return workers


async def test_rolling_restarts_lose_no_request_of_a_retrying_client(
    fleet: Fleet, brand: Brand, tmp_path: Path
) -> None:
    """SIGHUP replaces each worker after its successor is ready; a worker that dies is
    replaced. A client that retries transport errors and UNAVAILABLE with the same
    idempotency key sees no failure, and no order is placed twice."""
    port = _free_port()
    env = {**_environment(fleet.url), "ZHONGTAI_DB_POOL_TOTAL": "8"}
    args = ["serve", "--port", str(port), "--workers", "2", "--no-background"]
    server = _start(tmp_path, "rolling", args, env)
    token = await brand.tenant.token("cashier")
    shop = await open_shop(brand.tenant, stock=1_000_000)
    base = f"http://127.0.0.1:{port}"
    placed: dict[str, str] = {}
    failures: list[str] = []
    stop = asyncio.Event()

    async def customer(number: int, client: httpx.AsyncClient) -> None:
        sequence = 0
        while not stop.is_set():
            sequence += 1
            variables = place_input(shop, [1], key=f"rolling-{number}-{sequence}")
            for _attempt in range(50):
                try:
                    response = await client.post(
                        f"{base}/graphql",
                        json={"query": PLACE, "variables": variables},
                        headers={"authorization": f"Bearer {token}"},
                    )
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
                    continue
                body = response.json()
                codes = {e["extensions"]["code"] for e in body.get("errors", [])}
                if response.status_code == 503 or "UNAVAILABLE" in codes:
                    await asyncio.sleep(0.1)
                    continue
                payload = (body.get("data") or {}).get("placeOrder")
                if payload is None or payload["userErrors"]:
                    failures.append(json.dumps(body))
                else:
                    placed[variables["input"]["idempotencyKey"]] = payload["order"]["id"]
                await asyncio.sleep(0.05)
                break
            else:
                failures.append(f"gave up on {variables['input']['idempotencyKey']}")

    try:
        await asyncio.to_thread(_wait_ready, port, server)
        first = _children(server.pid)
        async with httpx.AsyncClient(timeout=30) as client:
            customers = [asyncio.create_task(customer(n, client)) for n in range(4)]
            await asyncio.sleep(2)
            server.send_signal(signal.SIGHUP)  # replace both workers, one at a time

            async def replaced() -> bool:
                return not (_children(server.pid) & first)

            await _eventually(replaced, within=420)
            victim = min(_children(server.pid))
            os.kill(victim, signal.SIGKILL)  # a worker dies: the supervisor replaces it

            async def respawned() -> bool:
                children = _children(server.pid)
                return victim not in children and len(children) >= 2

            await _eventually(respawned, within=420)
            await asyncio.to_thread(_wait_ready, port, server)
            await asyncio.sleep(2)
            stop.set()
            await asyncio.gather(*customers)
    finally:
        stop.set()
        codes = _stop([("rolling", server)])
    _assert_stopped_cleanly("api", codes["rolling"], tmp_path / "rolling.log")
    assert failures == []
    assert len(placed) >= 8
    # Exactly one order per idempotency key, however often a request was retried.
    orders = await _scalars(
        brand.db,
        brand.tenant.id,
        "SELECT count(*) FROM kernel.idempotency_key WHERE key LIKE 'rolling-%'",
    )
    trade_orders = await _scalars(brand.db, brand.tenant.id, 'SELECT id FROM "order".trade_order')
    assert orders == [len(placed)]
    assert {str(order) for order in trade_orders} == set(placed.values())
