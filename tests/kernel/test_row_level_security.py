"""Row-Level Security, the second wall: the database itself hides other tenants' rows."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.app import Runtime
from kernel.authn import Principal
from kernel.context import RequestContext
from kernel.db import Database, bind_platform
from kernel.jobs import JobRunner, schedule_job
from kernel.rls import APP_ROLE, PLATFORM_ROLE, POLICY_NAME, TENANT_PREDICATE
from tests.builders import open_shop
from tests.centers.order.test_place_order import PLACE, order_input
from tests.conftest import TenantFixture, gql

_TENANT_TABLES = """
SELECT n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity,
       pg_get_userbyid(c.relowner) AS owner,
       EXISTS (SELECT 1 FROM pg_policies p
               WHERE p.schemaname = n.nspname AND p.tablename = c.relname
                 AND p.policyname = :policy AND 'public' = ANY (p.roles)
                 AND p.cmd = 'ALL'
                 AND p.qual = p.with_check
                 AND p.qual LIKE '%tenant_id%zhongtai.tenant_id%') AS tenant_policy
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  -- Business tables live in the centers' and the kernel's schemas; tests keep
  -- scratch tables in public.
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'public')
  AND EXISTS (SELECT 1 FROM information_schema.columns col
              WHERE col.table_schema = n.nspname AND col.table_name = c.relname
                AND col.column_name = 'tenant_id')
ORDER BY 1, 2
"""


async def _place_order(client: httpx.AsyncClient, tenant: TenantFixture) -> str:
    shop = await open_shop(tenant)
    token = await tenant.token("tenant_admin")
    placed = await gql(client, token, PLACE, order_input(shop, [1]))
    order_id: str = placed["data"]["placeOrder"]["order"]["id"]
    return order_id


def _request_context(runtime: Runtime, tenant_id: uuid.UUID) -> RequestContext:
    principal = Principal(subject="user:probe", tenant_id=tenant_id, subject_id="probe")
    return RequestContext(
        principal=principal,
        policy=None,  # type: ignore[arg-type]  # the probe never authorizes
        db=runtime.db,
        request_id="rls-probe",
    )


async def test_every_business_table_has_forced_row_level_security(db: Database) -> None:
    async with db.unit_of_work() as session:
        rows = (await session.execute(sa.text(_TENANT_TABLES), {"policy": POLICY_NAME})).all()
    assert len(rows) > 10  # the centers' tables are all there
    unprotected = [
        f"{r.nspname}.{r.relname}"
        for r in rows
        if not (r.relrowsecurity and r.relforcerowsecurity and r.tenant_policy)
    ]
    assert unprotected == [], (
        "tables with tenant_id but no forced RLS: call kernel.rls.enable_tenant_rls "
        f"in the migration that creates them: {unprotected}"
    )
    assert {r.owner for r in rows}.isdisjoint({APP_ROLE, PLATFORM_ROLE})


async def test_the_application_roles_cannot_bypass_row_level_security(db: Database) -> None:
    async with db.unit_of_work() as session:
        roles = (
            await session.execute(
                sa.text(
                    "SELECT rolname, rolsuper, rolbypassrls, rolcreaterole "
                    "FROM pg_roles WHERE rolname IN (:a, :p)"
                ),
                {"a": APP_ROLE, "p": PLATFORM_ROLE},
            )
        ).all()
    assert {r.rolname for r in roles} == {APP_ROLE, PLATFORM_ROLE}
    assert all(not (r.rolsuper or r.rolbypassrls or r.rolcreaterole) for r in roles)
    assert "zhongtai.tenant_id" in TENANT_PREDICATE


async def test_unscoped_query_in_a_request_session_returns_only_the_current_tenant(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
) -> None:
    mine = await _place_order(client, tenant)
    theirs = await _place_order(client, other_tenant)
    context = _request_context(runtime, tenant.id)
    try:
        # Deliberately no WHERE clause: only RLS stands between us and every tenant.
        rows = (
            await context.session.execute(sa.text('SELECT id, tenant_id FROM "order".trade_order'))
        ).all()
        role = await context.session.scalar(sa.text("SELECT current_user"))
    finally:
        await context.finish(commit=False)
    assert role == APP_ROLE
    assert {r.tenant_id for r in rows} == {tenant.id}
    ids = {str(r.id) for r in rows}
    assert mine in ids and theirs not in ids


async def test_a_session_without_a_tenant_on_the_app_role_sees_nothing(
    client: httpx.AsyncClient, db: Database, tenant: TenantFixture
) -> None:
    await _place_order(client, tenant)
    async with db.unit_of_work() as session:
        await session.execute(sa.text(f"SET LOCAL ROLE {APP_ROLE}"))
        count = await session.scalar(sa.text('SELECT count(*) FROM "order".trade_order'))
    assert count == 0


async def test_writing_a_row_for_another_tenant_is_refused(
    runtime: Runtime, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    context = _request_context(runtime, tenant.id)
    try:
        with pytest.raises(DBAPIError) as refused:
            await context.session.execute(
                sa.text(
                    "INSERT INTO store.store (tenant_id, id, code, name, timezone, created_at) "
                    "VALUES (:t, :id, 'X', 'Smuggled', 'UTC', now())"
                ),
                {"t": other_tenant.id, "id": uuid.uuid4()},
            )
    finally:
        await context.finish(commit=False)
    assert "row-level security" in str(refused.value)


async def test_platform_scope_lists_tenants_but_reads_no_business_table(
    client: httpx.AsyncClient, db: Database, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    await _place_order(client, tenant)
    async with db.unit_of_work() as session:
        await bind_platform(session)
        tenants = set((await session.scalars(sa.text("SELECT tenant_id FROM store.tenant"))).all())
        assert {tenant.id, other_tenant.id} <= tenants
        with pytest.raises(DBAPIError) as refused:
            await session.execute(sa.text('SELECT count(*) FROM "order".trade_order'))
        await session.rollback()
    assert "permission denied" in str(refused.value)


async def test_jobs_run_behind_the_wall_of_their_tenant(
    client: httpx.AsyncClient, db: Database, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    await _place_order(client, tenant)
    await _place_order(client, other_tenant)
    seen: list[set[uuid.UUID]] = []

    async def unscoped(session: AsyncSession, _tenant: uuid.UUID, _p: Mapping[str, Any]) -> None:
        rows = await session.scalars(sa.text('SELECT tenant_id FROM "order".trade_order'))
        seen.append(set(rows.all()))

    now = datetime.now(UTC)
    async with db.unit_of_work() as session:
        await schedule_job(session, tenant.id, "test.rls_probe", "probe", now, {})
    ran = await JobRunner(db, {"test.rls_probe": unscoped}).run_due(
        now + timedelta(seconds=1), tenant_id=tenant.id
    )
    assert ran == 1
    assert seen == [{tenant.id}]


async def test_no_view_or_definer_function_can_read_around_the_wall(db: Database) -> None:
    """A view runs as its owner and a SECURITY DEFINER function as its definer: both
    would skip RLS (the owner bypasses it), so business schemas have neither, unless a
    view is ``security_invoker``."""
    async with db.unit_of_work() as session:
        views = (
            await session.execute(
                sa.text(
                    "SELECT n.nspname || '.' || c.relname AS name, c.relkind, c.reloptions "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('v', 'm') "
                    "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'public')"
                )
            )
        ).all()
        definers = (
            await session.scalars(
                sa.text(
                    "SELECT n.nspname || '.' || p.proname FROM pg_proc p "
                    "JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE p.prosecdef AND n.nspname NOT IN "
                    "('pg_catalog', 'information_schema', 'public') "
                    "AND n.nspname NOT LIKE 'pg\\_%'"
                )
            )
        ).all()
    leaky = [
        v.name
        for v in views
        if v.relkind == "m" or "security_invoker=true" not in (v.reloptions or [])
    ]
    assert leaky == []
    assert definers == []
