"""Policy changes reach every running server process within a second.

Two real servers (``zhongtai serve`` in uvicorn subprocesses on 127.0.0.1) share the
test database. A grant made through one is honoured by the other, which had the
tenant's enforcer cached, through the trigger's NOTIFY and a per-tenant rebuild.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from kernel.app import Runtime
from kernel.authn import mint_dev_token
from kernel.authz.permissions import Permission
from kernel.authz.rules import set_rule
from kernel.settings import Settings
from tests.conftest import TenantFixture

ROOT = Path(__file__).resolve().parents[2]
STORES = "{ stores(first: 1) { edges { cursor } } }"
CHANGE = "mutation($i: {input}!) {{ {name}(input: $i) {{ policyVersion userErrors {{ code }} }} }}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def servers(database_url: str) -> Iterator[list[str]]:
    """Two server processes on the test database; their base URLs."""
    env = {
        **os.environ,
        "ZHONGTAI_DATABASE_URL": database_url,
        "ZHONGTAI_ENVIRONMENT": "test",
        "ZHONGTAI_JOBS_ENABLED": "false",
    }
    started: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for _ in range(2):
            port = _free_port()
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
                [
                    sys.executable,
                    "-c",
                    "from schema.cli import main; main()",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            started.append((process, f"http://127.0.0.1:{port}"))
        deadline = time.monotonic() + 60
        for process, url in started:
            while True:
                if process.poll() is not None:
                    error = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"server exited: {error[-2000:]}")
                try:
                    if httpx.get(f"{url}/ready", timeout=1.0).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("server did not become ready in 60 s")
                time.sleep(0.1)
        yield [url for _, url in started]
    finally:
        for process, _ in started:
            process.send_signal(signal.SIGTERM)
        for process, _ in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


async def call(
    http: httpx.AsyncClient, base: str, token: str, query: str, variables: Any = None
) -> dict[str, Any]:
    response = await http.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = response.json()
    return body


async def change(
    http: httpx.AsyncClient, base: str, token: str, name: str, input_type: str, value: Any
) -> None:
    body = await call(http, base, token, CHANGE.format(name=name, input=input_type), {"i": value})
    assert body["data"][name]["userErrors"] == [], body


async def seconds_until(
    http: httpx.AsyncClient, base: str, token: str, *, allowed: bool, limit: float = 5.0
) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        body = await call(http, base, token, STORES)
        if ("errors" not in body) == allowed:
            return time.perf_counter() - started
        await asyncio.sleep(0.01)
    raise AssertionError(f"not {'allowed' if allowed else 'denied'} after {limit} s")


async def test_a_grant_on_one_server_reaches_the_other_within_a_second(
    servers: list[str], http: httpx.AsyncClient, tenant: TenantFixture, settings: Settings
) -> None:
    first, second = servers
    admin = await tenant.token("tenant_admin")
    clerk = mint_dev_token(settings, tenant_id=tenant.id, subject_id="clerk")
    # The second server builds and caches the tenant's enforcer: the clerk is nobody.
    denied = await call(http, second, clerk, STORES)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    await change(http, first, admin, "createRole", "CreateRoleInput", {"name": "viewer"})
    await change(
        http,
        first,
        admin,
        "grantPermission",
        "RolePermissionInput",
        {"role": "viewer", "object": "store.store", "action": "read"},
    )
    await change(
        http,
        first,
        admin,
        "assignRole",
        "RoleAssignmentInput",
        {"subject": "user:clerk", "role": "viewer"},
    )
    granted_after = await seconds_until(http, second, clerk, allowed=True)
    assert granted_after < 1.0

    # And back: a revocation on the second server reaches the first.
    assert "errors" not in await call(http, first, clerk, STORES)
    await change(
        http,
        second,
        admin,
        "unassignRole",
        "RoleAssignmentInput",
        {"subject": "user:clerk", "role": "viewer"},
    )
    revoked_after = await seconds_until(http, first, clerk, allowed=False)
    assert revoked_after < 1.0
    print(f"propagation: grant {granted_after * 1000:.0f} ms, revoke {revoked_after * 1000:.0f} ms")


_LISTENERS = (
    "SELECT pid FROM pg_stat_activity "
    "WHERE datname = current_database() AND query ILIKE 'LISTEN%zhongtai_policy%'"
)


async def test_after_a_lost_listener_every_tenant_is_reloaded(
    runtime: Runtime, tenant: TenantFixture
) -> None:
    """A NOTIFY sent while the listener was away is lost: reconnecting drops everything."""
    await runtime.policies.for_tenant(tenant.id)
    reloads = runtime.policies.full_reloads
    async with runtime.db.unit_of_work() as session:
        listeners = (await session.scalars(sa.text(_LISTENERS))).all()
        assert listeners, "the policy listener is not connected"
        for pid in listeners:
            await session.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    # A change lands while (or just after) the listener is gone.
    async with runtime.db.unit_of_work() as session:
        await set_rule(
            session, tenant.id, "user:latecomer", Permission("store.store", "read"), "allow"
        )
    for _ in range(200):
        if runtime.policies.full_reloads > reloads:
            break
        await asyncio.sleep(0.025)
    assert runtime.policies.full_reloads > reloads
    policy = await runtime.policies.for_tenant(tenant.id)
    assert policy.allows("user:latecomer", Permission("store.store", "read"))


async def test_a_change_rebuilds_only_its_tenant(
    runtime: Runtime, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    mine = await runtime.policies.for_tenant(tenant.id)
    theirs = await runtime.policies.for_tenant(other_tenant.id)
    async with runtime.db.unit_of_work() as session:
        await set_rule(session, tenant.id, "user:new", Permission("store.store", "read"), "allow")
    for _ in range(200):
        rebuilt = await runtime.policies.for_tenant(tenant.id)
        if rebuilt is not mine:
            break
        await asyncio.sleep(0.01)
    assert rebuilt is not mine and rebuilt.version > mine.version
    assert rebuilt.allows("user:new", Permission("store.store", "read"))
    # The other tenant's enforcer was neither dropped nor rebuilt.
    assert await runtime.policies.for_tenant(other_tenant.id) is theirs


async def test_a_role_held_at_a_store_reaches_the_other_server_within_a_second(
    servers: list[str], http: httpx.AsyncClient, tenant: TenantFixture, settings: Settings
) -> None:
    from tests.builders import open_shop

    first, second = servers
    shop = await open_shop(tenant, stock=0)
    admin = await tenant.token("tenant_admin")
    till = mint_dev_token(settings, tenant_id=tenant.id, subject_id="till-remote")
    orders = "{ orders(first: 1) { edges { cursor } } }"
    refused = await call(http, second, till, orders)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    held = {"subject": "user:till-remote", "role": "cashier", "storeId": str(shop.store_id)}
    await change(http, first, admin, "assignRole", "RoleAssignmentInput", held)
    started = time.perf_counter()
    while time.perf_counter() - started < 5.0:
        if "errors" not in await call(http, second, till, orders):
            break
        await asyncio.sleep(0.01)
    assert time.perf_counter() - started < 1.0
    await change(http, first, admin, "unassignRole", "RoleAssignmentInput", held)
    started = time.perf_counter()
    while time.perf_counter() - started < 5.0:
        if "errors" in await call(http, second, till, orders):
            break
        await asyncio.sleep(0.01)
    assert time.perf_counter() - started < 1.0
