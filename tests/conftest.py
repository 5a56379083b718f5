"""Test fixtures: a real PostgreSQL (embedded, or ``TEST_DATABASE_URL``), a fresh
database per test session, the ASGI app with its lifespan, and a fresh tenant per test.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from centers.store import api as store_api
from kernel.app import Runtime, create_app
from kernel.authn import mint_dev_token
from kernel.authz.rules import assign_role
from kernel.db import Database, to_asyncpg_url
from kernel.embedded_postgres import start_embedded_postgres
from kernel.migrate import upgrade
from kernel.settings import Settings
from schema.subgraphs import served_api

ROOT = Path(__file__).resolve().parents[1]


def _server_url() -> str:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        return to_asyncpg_url(configured)
    return start_embedded_postgres(ROOT / ".zhongtai" / "test")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database of our own for this test session, migrated, dropped afterwards."""
    server = make_url(_server_url())
    name = f"zt_test_{os.getpid()}_{secrets.token_hex(3)}"

    async def run(sql: str) -> None:
        engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(sa.text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        # Several test sessions share one server (max_connections 100): at most 25
        # connections each; concurrent tests queue on the pool instead of failing with
        # "too many clients" (contention stays real: 25 transactions at once).
        db_pool_size=10,
        db_max_overflow=15,
        # Tests run due jobs explicitly (runtime.jobs.run_due) at the time they choose.
        jobs_enabled=False,
    )


@pytest.fixture(scope="session")
async def app_runtime(settings: Settings) -> AsyncIterator[tuple[Any, Runtime]]:
    app = create_app(served_api(), settings)
    async with app.router.lifespan_context(app):
        yield app, app.state.runtime


@pytest.fixture
async def client(app_runtime: tuple[Any, Runtime]) -> AsyncIterator[httpx.AsyncClient]:
    app, _ = app_runtime
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://zhongtai.test") as c:
        yield c


@pytest.fixture
def runtime(app_runtime: tuple[Any, Runtime]) -> Runtime:
    return app_runtime[1]


@pytest.fixture
def db(runtime: Runtime) -> Database:
    return runtime.db


@dataclass
class TenantFixture:
    """A fresh brand per test, with tokens for any built-in role."""

    id: uuid.UUID
    slug: str
    runtime: Runtime
    settings: Settings
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    async def token(self, role: str | None, sub: str | None = None) -> str:
        """A JWT for ``sub`` holding ``role`` in this tenant (``None``: no grant at all)."""
        subject_id = sub or f"{role or 'nobody'}-{secrets.token_hex(4)}"
        if role is not None:
            async with self.runtime.db.unit_of_work() as session:
                await assign_role(session, self.id, f"user:{subject_id}", role)
            self.runtime.policies.invalidate(self.id)
        return mint_dev_token(self.settings, tenant_id=self.id, subject_id=subject_id)

    async def store_token(self, role: str, *store_ids: uuid.UUID, sub: str | None = None) -> str:
        """A JWT for ``sub`` holding ``role`` only at ``store_ids`` (kernel.authz.stores)."""
        subject_id = sub or f"{role}-at-store-{secrets.token_hex(4)}"
        async with self.runtime.db.unit_of_work() as session:
            for store_id in store_ids:
                await assign_role(session, self.id, f"user:{subject_id}", role, store_id=store_id)
        self.runtime.policies.invalidate(self.id)
        return mint_dev_token(self.settings, tenant_id=self.id, subject_id=subject_id)


@pytest.fixture
async def tenant(runtime: Runtime, settings: Settings) -> TenantFixture:
    return await make_tenant(runtime, settings)


async def make_tenant(runtime: Runtime, settings: Settings) -> TenantFixture:
    slug = f"t-{secrets.token_hex(5)}"
    async with runtime.db.unit_of_work() as session:
        created = await store_api.create_tenant(session, slug=slug, name=f"Tenant {slug}")
    return TenantFixture(id=created.id, slug=slug, runtime=runtime, settings=settings)


@pytest.fixture
async def other_tenant(runtime: Runtime, settings: Settings) -> TenantFixture:
    return await make_tenant(runtime, settings)


async def gql(
    client: httpx.AsyncClient,
    token: str | None,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    path: str = "/graphql",
) -> dict[str, Any]:
    """POST an operation; returns the JSON body (asserting a JSON response)."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        path, json={"query": query, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    body["_status"] = response.status_code
    return body
