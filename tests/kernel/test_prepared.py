"""Hot statements on the unit of work's asyncpg connection (kernel.prepared)."""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa

from centers.store import api as store_api
from kernel import prepared
from kernel.db import Database
from kernel.prepared import Statement
from tests.conftest import TenantFixture

_STORES_OF_TENANT = Statement("SELECT id FROM store.store WHERE tenant_id = $1")
_EVERY_STORE = Statement("SELECT tenant_id FROM store.store")
_SETTINGS = Statement("SELECT current_setting('role'), current_setting('zhongtai.tenant_id', true)")
_INSERT_STORE = Statement(
    "INSERT INTO store.store (tenant_id, id, code, name, timezone, created_at) "
    "VALUES ($1, $2, $3, $4, 'Asia/Shanghai', now())"
)


async def _create_store(db: Database, tenant_id: uuid.UUID, code: str) -> None:
    async with db.unit_of_work(tenant_id) as session:
        await store_api.create_store(
            session, tenant_id, code=code, name=code, timezone="Asia/Shanghai"
        )


async def test_runs_as_the_app_role_for_the_bound_tenant(
    db: Database, tenant: TenantFixture
) -> None:
    async with db.unit_of_work(tenant.id) as session:
        role, bound = await prepared.fetchrow(session, _SETTINGS)
    assert role == "zhongtai_app"
    assert bound == str(tenant.id)


async def test_row_level_security_hides_other_tenants(
    db: Database, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    await _create_store(db, tenant.id, "MINE")
    await _create_store(db, other_tenant.id, "THEIRS")
    async with db.unit_of_work(tenant.id) as session:
        # No tenant filter in the statement: RLS alone keeps the other brand out.
        rows = await prepared.fetch(session, _EVERY_STORE)
    assert rows
    assert {row["tenant_id"] for row in rows} == {tenant.id}


async def test_shares_the_transaction_with_the_orm(db: Database, tenant: TenantFixture) -> None:
    store_id = uuid.uuid4()
    async with db.session_for(tenant.id) as session:
        await prepared.execute(session, _INSERT_STORE, tenant.id, store_id, "TMP", "tmp")
        # The ORM sees the uncommitted row: one transaction, one connection.
        seen = await session.scalar(
            sa.text("SELECT count(*) FROM store.store WHERE id = :id"), {"id": store_id}
        )
        assert seen == 1
        await session.rollback()
    async with db.unit_of_work(tenant.id) as session:
        rows = await prepared.fetch(session, _STORES_OF_TENANT, tenant.id)
    assert store_id not in {row["id"] for row in rows}


async def test_concurrent_statements_take_turns(db: Database, tenant: TenantFixture) -> None:
    await _create_store(db, tenant.id, "TURNS")
    async with db.unit_of_work(tenant.id) as session:
        results = await asyncio.gather(
            *(prepared.fetch(session, _STORES_OF_TENANT, tenant.id) for _ in range(5)),
            session.scalar(sa.text("SELECT 1")),
        )
    assert all(len(rows) == 1 for rows in results[:5])


async def test_listeners_see_each_statement(db: Database, tenant: TenantFixture) -> None:
    seen: list[str] = []
    prepared.listen(seen.append)
    try:
        async with db.unit_of_work(tenant.id) as session:
            await prepared.fetch(session, _STORES_OF_TENANT, tenant.id)
            await prepared.fetchval(session, _STORES_OF_TENANT, tenant.id)
    finally:
        prepared.unlisten(seen.append)
    assert seen == [_STORES_OF_TENANT.sql, _STORES_OF_TENANT.sql]
