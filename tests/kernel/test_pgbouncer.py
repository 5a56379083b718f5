"""The core flows through a real PgBouncer in transaction pooling mode.

PgBouncer (Debian's package, 1.18 on our machines) hands each transaction whichever
server connection is free, so nothing may outlive a transaction: the RLS role and
tenant are transaction-local already (``kernel.db``), prepared statements are kept
per transaction with ``ZHONGTAI_DB_STATEMENT_CACHE=false`` (PgBouncer 1.21+ tracks them
itself), and LISTEN goes straight to PostgreSQL through ``ZHONGTAI_LISTEN_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import connect

from kernel.app import Runtime, create_app
from kernel.settings import Settings
from schema.subgraphs import served_api
from tests.builders import open_shop
from tests.centers.order.flows import fire, pay, place, read
from tests.conftest import TenantFixture, make_tenant
from tests.support.databases import migrated_database
from tests.test_tour import run_tour

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"

pytestmark = pytest.mark.skipif(
    not os.access(PGBOUNCER, os.X_OK),
    reason="PgBouncer is not installed (apt-get install pgbouncer; .ci/run installs it)",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_address(url: URL) -> tuple[str, int]:
    """Host (or unix socket directory) and port of the PostgreSQL behind ``url``."""
    host = url.host or url.query.get("host")
    if isinstance(host, tuple):
        host = host[0]
    return str(host or "/var/run/postgresql"), int(url.port or 5432)


def _bouncer_user() -> str:
    """PgBouncer refuses to run as root: run it as the embedded server's own user
    (which can reach its socket), else ``nobody``."""
    for name in ("pgserver", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("no unprivileged user to run PgBouncer as")


@pytest.fixture(scope="module")
def direct_url(database_url: str) -> Iterator[str]:
    """A database of this module's own (the tour seeds the demo brand), migrated."""
    with migrated_database(database_url, "zt_bouncer") as url:
        yield url


@pytest.fixture(scope="module")
def bouncer_url(direct_url: str) -> Iterator[str]:
    """A PgBouncer in transaction mode in front of ``direct_url``'s server."""
    server = make_url(direct_url)
    host, port = _server_address(server)
    user = _bouncer_user()
    listen_port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="zt-pgbouncer-"))
    (folder / "userlist.txt").write_text(f'"{server.username}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={host} port={port} user={server.username}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {listen_port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {folder / 'userlist.txt'}",
                "pool_mode = transaction",
                # Fewer server connections than the app's pool: transactions of
                # different clients really do share and swap server connections.
                "default_pool_size = 4",
                "max_client_conn = 200",
                f"logfile = {folder / 'pgbouncer.log'}",
                f"pidfile = {folder / 'pgbouncer.pid'}",
                "",
            ]
        )
    )
    shutil.chown(folder, user)
    for child in folder.iterdir():
        shutil.chown(child, user)
    process = subprocess.Popen(  # noqa: S603 - our own binary and config
        [PGBOUNCER, "-u", user, str(folder / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"PgBouncer did not start: {process.stderr.read()!r}")  # type: ignore[union-attr]
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", listen_port)) == 0:
                break
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("PgBouncer did not listen in time")
        time.sleep(0.05)
    bounced = URL.create(
        "postgresql+asyncpg",
        username=server.username,
        password=server.password,
        host="127.0.0.1",
        port=listen_port,
        database=server.database,
    )
    yield bounced.render_as_string(hide_password=False)
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def bounced_settings(bouncer_url: str, direct_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=bouncer_url,
        listen_database_url=direct_url,
        db_statement_cache=False,
        db_pool_size=8,
        db_max_overflow=8,
        jobs_enabled=False,
    )


@pytest.fixture(scope="module")
async def bounced(bounced_settings: Settings) -> AsyncIterator[tuple[Any, Runtime]]:
    app = create_app(served_api(), bounced_settings)
    async with app.router.lifespan_context(app):
        yield app, app.state.runtime


@pytest.fixture
async def bounced_client(bounced: tuple[Any, Runtime]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=bounced[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://bounced.test") as c:
        yield c


@pytest.fixture
async def bounced_tenant(bounced: tuple[Any, Runtime], bounced_settings: Settings) -> TenantFixture:
    return await make_tenant(bounced[1], bounced_settings)


async def _server_backends(direct_url: str) -> int:
    """Client connections PostgreSQL serves for this database right now."""
    engine = create_async_engine(direct_url)
    try:
        async with engine.connect() as connection:
            count = await connection.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend' AND query NOT ILIKE 'LISTEN%'"
                )
            )
            return int(count)
    finally:
        await engine.dispose()


async def test_the_tour_runs_through_pgbouncer(
    bounced_client: httpx.AsyncClient, bounced: tuple[Any, Runtime], direct_url: str
) -> None:
    await run_tour(bounced_client, bounced[1])
    # The app's pool (up to 16) really went through the bouncer's 4 server connections.
    assert await _server_backends(direct_url) <= 4


async def test_concurrent_orders_share_few_server_connections(
    bounced_client: httpx.AsyncClient, bounced_tenant: TenantFixture
) -> None:
    shop = await open_shop(bounced_tenant, stock=40)
    staff = await bounced_tenant.token("cashier")
    orders = await asyncio.gather(*(place(bounced_client, staff, shop, [1]) for _ in range(30)))
    assert len({order["id"] for order in orders}) == 30
    # 30 transactions spread over 4 server connections, each read back whole.
    for order in orders:
        found = await read(bounced_client, staff, order["id"])
        assert found is not None and found["status"] == "PLACED"


async def test_pay_and_cancel_through_pgbouncer(
    bounced_client: httpx.AsyncClient, bounced_tenant: TenantFixture
) -> None:
    shop = await open_shop(bounced_tenant)
    staff = await bounced_tenant.token("cashier")
    paid = await place(bounced_client, staff, shop, [1], order_type="DINE_IN")
    await pay(bounced_tenant, paid["id"], paid["total"]["amount"])
    accepted = await fire(bounced_client, staff, paid["id"], "ACCEPT")
    assert accepted["userErrors"] == [] and accepted["order"]["status"] == "ACCEPTED"
    cancelled = await place(bounced_client, staff, shop, [2])
    result = await fire(bounced_client, staff, cancelled["id"], "CANCEL", reason="changed mind")
    assert result["userErrors"] == [] and result["order"]["status"] == "CANCELLED"


async def test_due_jobs_run_through_pgbouncer(
    bounced_client: httpx.AsyncClient,
    bounced_tenant: TenantFixture,
    bounced: tuple[Any, Runtime],
) -> None:
    shop = await open_shop(bounced_tenant)
    staff = await bounced_tenant.token("cashier")
    unpaid = await place(bounced_client, staff, shop, [1])
    later = datetime.now(UTC) + timedelta(days=1)
    ran = await bounced[1].jobs.run_due(later, tenant_id=bounced_tenant.id)
    assert ran >= 1
    timed_out = await read(bounced_client, staff, unpaid["id"])
    assert timed_out is not None and timed_out["status"] == "CANCELLED"


SUBSCRIBE = """
subscription($store: ID!) { orderEvents(storeId: $store) { event toStatus order { id } } }
"""


async def test_order_events_reach_a_subscriber_through_pgbouncer(
    bounced_client: httpx.AsyncClient,
    bounced_tenant: TenantFixture,
    bounced_settings: Settings,
) -> None:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(served_api(), bounced_settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert not task.done() and time.monotonic() < deadline, "server did not start"
            await asyncio.sleep(0.05)
        shop = await open_shop(bounced_tenant)
        staff = await bounced_tenant.token("cashier")
        url = f"ws://127.0.0.1:{port}/graphql"
        async with connect(url, subprotocols=["graphql-transport-ws"]) as kitchen:  # type: ignore[list-item]
            await kitchen.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"Authorization": f"Bearer {staff}"}}
                )
            )
            assert json.loads(await asyncio.wait_for(kitchen.recv(), 5))["type"] == (
                "connection_ack"
            )
            await kitchen.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {
                            "query": SUBSCRIBE,
                            "variables": {"store": str(shop.store_id)},
                        },
                    }
                )
            )
            await asyncio.sleep(0.3)  # LISTENing once the source has started
            order = await place(bounced_client, staff, shop, [1])
            event = json.loads(await asyncio.wait_for(kitchen.recv(), 10))
        assert event["payload"]["data"]["orderEvents"] == {
            "event": "PLACE",
            "toStatus": "PLACED",
            "order": {"id": order["id"]},
        }
    finally:
        server.should_exit = True
        await task
