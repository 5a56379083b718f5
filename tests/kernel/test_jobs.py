"""Durable jobs fire once, at their time, in the transaction that marks them done."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.db import TENANT_SETTING, Database
from kernel.jobs import JobRunner, cancel_job, job_status, schedule_job, scheduled_job
from tests.conftest import TenantFixture


async def _make_fired_table(db: Database) -> None:
    async with db.unit_of_work() as session:
        await session.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS public.job_fired (tenant_id uuid, key text, bound text)"
            )
        )


async def _record(session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]) -> None:
    bound = await session.scalar(sa.text(f"SELECT current_setting('{TENANT_SETTING}', true)"))
    await session.execute(
        sa.text("INSERT INTO public.job_fired VALUES (:t, :k, :b)"),
        {"t": tenant_id, "k": payload["key"], "b": bound},
    )


async def _fired(db: Database, tenant_id: uuid.UUID) -> list[tuple[str, str]]:
    async with db.unit_of_work() as session:
        rows = await session.execute(
            sa.text("SELECT key, bound FROM public.job_fired WHERE tenant_id = :t ORDER BY key"),
            {"t": tenant_id},
        )
        return [(r.key, r.bound) for r in rows]


async def test_job_fires_once_when_due_with_its_tenant_bound(
    db: Database, tenant: TenantFixture
) -> None:
    await _make_fired_table(db)
    now = datetime.now(UTC)
    async with db.unit_of_work() as session:
        assert await schedule_job(
            session, tenant.id, "test.record", "a", now + timedelta(minutes=15), {"key": "a"}
        )
        # Scheduling the same job again keeps the first.
        assert not await schedule_job(session, tenant.id, "test.record", "a", now, {"key": "a"})
    runner = JobRunner(db, {"test.record": _record})

    assert await runner.run_due(now, tenant_id=tenant.id) == 0
    later = now + timedelta(minutes=16)
    assert await runner.run_due(later, tenant_id=tenant.id) == 1
    assert await runner.run_due(later, tenant_id=tenant.id) == 0
    assert await _fired(db, tenant.id) == [("a", str(tenant.id))]


async def test_concurrent_runners_fire_each_job_once(db: Database, tenant: TenantFixture) -> None:
    await _make_fired_table(db)
    now = datetime.now(UTC)
    async with db.unit_of_work() as session:
        for i in range(20):
            await schedule_job(
                session, tenant.id, "test.record", f"k{i:02}", now, {"key": f"k{i:02}"}
            )
    runners = [JobRunner(db, {"test.record": _record}) for _ in range(4)]
    counts = await asyncio.gather(*(r.run_due(now, tenant_id=tenant.id) for r in runners))
    assert sum(counts) == 20
    assert [k for k, _ in await _fired(db, tenant.id)] == [f"k{i:02}" for i in range(20)]


async def test_failing_job_rolls_back_and_retries_later(
    db: Database, tenant: TenantFixture
) -> None:
    await _make_fired_table(db)
    calls = 0

    async def flaky(
        session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]
    ) -> None:
        nonlocal calls
        calls += 1
        await _record(session, tenant_id, payload)
        if calls == 1:
            raise RuntimeError("backend down")

    now = datetime.now(UTC)
    async with db.unit_of_work() as session:
        await schedule_job(session, tenant.id, "test.flaky", "f", now, {"key": "f"})
    runner = JobRunner(db, {"test.flaky": flaky}, base_backoff_seconds=60)
    assert await runner.run_due(now, tenant_id=tenant.id) == 1
    assert await _fired(db, tenant.id) == []  # the failed attempt's write rolled back
    async with db.unit_of_work() as session:
        row = (
            await session.execute(
                sa.select(
                    scheduled_job.c.status, scheduled_job.c.attempts, scheduled_job.c.last_error
                ).where(scheduled_job.c.tenant_id == tenant.id)
            )
        ).one()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "backend down" in row.last_error
    assert await runner.run_due(now, tenant_id=tenant.id) == 0  # backing off
    assert await runner.run_due(now + timedelta(minutes=5), tenant_id=tenant.id) == 1
    assert await _fired(db, tenant.id) == [("f", str(tenant.id))]


async def test_job_gives_up_after_max_attempts(db: Database, tenant: TenantFixture) -> None:
    async def broken(
        session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]
    ) -> None:
        raise ValueError("always")

    now = datetime.now(UTC)
    async with db.unit_of_work() as session:
        await schedule_job(session, tenant.id, "test.broken", "b", now)
    runner = JobRunner(db, {"test.broken": broken}, max_attempts=2, base_backoff_seconds=1)
    await runner.run_due(now, tenant_id=tenant.id)
    await runner.run_due(now + timedelta(minutes=1), tenant_id=tenant.id)
    async with db.unit_of_work() as session:
        assert await job_status(session, tenant.id, "test.broken", "b") == "failed"


async def test_cancelled_job_never_fires(db: Database, tenant: TenantFixture) -> None:
    now = datetime.now(UTC)
    async with db.unit_of_work() as session:
        await schedule_job(session, tenant.id, "test.record", "c", now, {"key": "c"})
    async with db.unit_of_work() as session:
        assert await cancel_job(session, tenant.id, "test.record", "c")
        assert not await cancel_job(session, tenant.id, "test.record", "c")
    runner = JobRunner(db, {"test.record": _record})
    assert await runner.run_due(now, tenant_id=tenant.id) == 0
