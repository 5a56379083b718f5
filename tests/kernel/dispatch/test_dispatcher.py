"""The outbox dispatcher against the real database, with a scriptable plugin."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from typing import Any

import sqlalchemy as sa

from kernel.db import Database
from kernel.dispatch import Dispatcher
from kernel.dispatch.deliveries import dead_letters, replay
from kernel.plugins import storage
from kernel.plugins.manifest import PluginContext
from kernel.plugins.registry import PluginRegistry
from kernel.plugins.sealing import Sealer
from kernel.plugins.tables import delivery
from tests.conftest import TenantFixture
from tests.kernel.dispatch.support import (
    SCRIPTED,
    SCRIPTS,
    ScriptedPlugin,
    emit_changes,
    enable,
    later,
    plugin_settings,
    registry,
)


def dispatcher(db: Database, **settings: object) -> Dispatcher:
    return Dispatcher(db, registry=registry(), settings=plugin_settings(**settings))


async def states(db: Database, tenant_id: uuid.UUID) -> dict[str, int]:
    async with db.unit_of_work(tenant_id) as session:
        rows = await session.execute(
            sa.select(delivery.c.state, sa.func.count())
            .where(delivery.c.tenant_id == tenant_id)
            .group_by(delivery.c.state)
        )
        return {state: count for state, count in rows.all()}


async def test_enabled_plugin_receives_each_subscribed_event_once(
    db: Database, tenant: TenantFixture
) -> None:
    await enable(db, tenant.id)
    thing = uuid.uuid4()
    await emit_changes(db, tenant.id, thing, range(3))
    subject = dispatcher(db)
    report = await subject.run_once(tenant_id=tenant.id)
    again = await subject.run_once(tenant_id=tenant.id)
    await subject.aclose()

    script = SCRIPTS[tenant.id]
    assert [e.payload["seq"] for e in script.received] == [0, 1, 2]
    assert report.delivered == 3 and again.delivered == 0
    assert script.built_with[0].api_key is not None
    assert script.built_with[0].api_key.get_secret_value() == "k-123"


async def test_tenant_without_the_plugin_gets_nothing(
    db: Database, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    await enable(db, tenant.id)
    await emit_changes(db, other_tenant.id, uuid.uuid4(), range(2))
    subject = dispatcher(db)
    report = await subject.run_once(tenant_id=other_tenant.id)
    await subject.aclose()
    assert report.fanned_out == 0
    assert SCRIPTS[other_tenant.id].received == []


async def test_failed_delivery_is_retried_after_backoff(
    db: Database, tenant: TenantFixture
) -> None:
    await enable(db, tenant.id)
    SCRIPTS[tenant.id].failures_left = 1
    await emit_changes(db, tenant.id, uuid.uuid4(), [1])
    subject = dispatcher(db)
    first = await subject.run_once(tenant_id=tenant.id)
    assert first.failed == 1 and SCRIPTS[tenant.id].received == []
    # The retry is not due yet: backoff after one failure is 0.5-1 s.
    assert (await subject.run_once(tenant_id=tenant.id)).delivered == 0
    retried = await subject.run_once(later(2), tenant_id=tenant.id)
    await subject.aclose()
    assert retried.delivered == 1
    assert [e.payload["seq"] for e in SCRIPTS[tenant.id].received] == [1]


async def test_events_of_one_aggregate_wait_for_the_earlier_one(
    db: Database, tenant: TenantFixture
) -> None:
    await enable(db, tenant.id)
    SCRIPTS[tenant.id].failures_left = 2
    thing, other = uuid.uuid4(), uuid.uuid4()
    await emit_changes(db, tenant.id, thing, range(4))
    await emit_changes(db, tenant.id, other, range(2))
    subject = dispatcher(db, breaker_failure_threshold=100)
    clock = later(0)
    for _ in range(10):
        await subject.run_once(clock, tenant_id=tenant.id)
        clock = later(120, clock)
    await subject.aclose()
    received = SCRIPTS[tenant.id].received
    assert [e.payload["seq"] for e in received if e.aggregate_id == thing] == [0, 1, 2, 3]
    assert [e.payload["seq"] for e in received if e.aggregate_id == other] == [0, 1]


async def test_exhausted_delivery_becomes_a_dead_letter_and_replay_delivers_it(
    db: Database, tenant: TenantFixture
) -> None:
    await enable(db, tenant.id)
    SCRIPTS[tenant.id].mode = "raise"
    thing = uuid.uuid4()
    await emit_changes(db, tenant.id, thing, range(2))
    subject = dispatcher(db, dispatch_max_attempts=2, breaker_failure_threshold=100)
    clock = later(0)
    for _ in range(4):
        await subject.run_once(clock, tenant_id=tenant.id)
        clock = later(120, clock)
    # The first event is dead; the second waits behind it (order per aggregate).
    assert await states(db, tenant.id) == {"dead": 1, "pending": 1}
    async with db.unit_of_work(tenant.id) as session:
        dead = await dead_letters(session, tenant.id, after=None, limit=10)
    assert len(dead) == 1 and dead[0].attempts == 2
    assert dead[0].last_error == "RuntimeError: backend said no"

    SCRIPTS[tenant.id].mode = "ok"
    async with db.unit_of_work(tenant.id) as session:
        assert await replay(session, tenant.id, [dead[0].id], clock) == [dead[0].id]
    await subject.run_once(clock, tenant_id=tenant.id)
    await subject.aclose()
    assert [e.payload["seq"] for e in SCRIPTS[tenant.id].received] == [0, 1]
    assert await states(db, tenant.id) == {"delivered": 2}


async def test_hanging_plugin_times_out_without_holding_up_another_tenant(
    db: Database, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    await enable(db, tenant.id)
    await enable(db, other_tenant.id)
    SCRIPTS[tenant.id].mode = "hang"
    await emit_changes(db, tenant.id, uuid.uuid4(), [1])
    await emit_changes(db, other_tenant.id, uuid.uuid4(), [1])
    subject = dispatcher(db, plugin_call_timeout_seconds=0.3)
    started = time.perf_counter()
    # Both tenants in one pass, as the background loop runs it.
    await asyncio.gather(
        subject.run_once(tenant_id=tenant.id), subject.run_once(tenant_id=other_tenant.id)
    )
    elapsed = time.perf_counter() - started
    await subject.aclose()
    assert elapsed < 5.0  # the hanging call waits 3600 s unless cut off
    assert len(SCRIPTS[other_tenant.id].received) == 1
    async with db.unit_of_work(tenant.id) as session:
        health = await storage.health_of(session, tenant.id)
    assert health["plugin:scripted"].last_error == "timed out after 0.3s"
    assert health["plugin:scripted"].consecutive_failures == 1


async def test_plugin_returning_garbage_counts_as_a_failure(
    db: Database, tenant: TenantFixture
) -> None:
    await enable(db, tenant.id)
    SCRIPTS[tenant.id].mode = "garbage"
    await emit_changes(db, tenant.id, uuid.uuid4(), [1])
    subject = dispatcher(db)
    report = await subject.run_once(tenant_id=tenant.id)
    await subject.aclose()
    assert report.failed == 1 and report.delivered == 0
    async with db.unit_of_work(tenant.id) as session:
        health = await storage.health_of(session, tenant.id)
    assert health["plugin:scripted"].last_error == "TypeError: handle_event returned dict, not None"


async def test_open_breaker_stops_calls_without_spending_attempts(
    db: Database, tenant: TenantFixture
) -> None:
    await enable(db, tenant.id)
    SCRIPTS[tenant.id].mode = "raise"
    await emit_changes(db, tenant.id, uuid.uuid4(), range(1))
    await emit_changes(db, tenant.id, uuid.uuid4(), range(1))
    await emit_changes(db, tenant.id, uuid.uuid4(), range(1))
    await emit_changes(db, tenant.id, uuid.uuid4(), range(1))
    subject = dispatcher(db, breaker_failure_threshold=2, dispatch_max_attempts=50)
    clock = later(0)
    await subject.run_once(clock, tenant_id=tenant.id)
    calls_when_opened = SCRIPTS[tenant.id].calls
    assert calls_when_opened >= 2
    assert subject.breakers.state((tenant.id, "plugin:scripted")) == "open"
    # Within the cool-down nothing is called, however often the dispatcher runs.
    for step in range(5):
        await subject.run_once(later(5 + step, clock), tenant_id=tenant.id)
    assert SCRIPTS[tenant.id].calls == calls_when_opened
    # After it, one trial goes through; success closes the breaker and drains the rest.
    SCRIPTS[tenant.id].mode = "ok"
    await subject.run_once(later(31, clock), tenant_id=tenant.id)
    await subject.run_once(later(200, clock), tenant_id=tenant.id)
    await subject.aclose()
    assert len(SCRIPTS[tenant.id].received) == 4
    assert subject.breakers.state((tenant.id, "plugin:scripted")) == "closed"


async def test_disabled_plugin_is_not_called_and_resumes_when_enabled(
    db: Database, tenant: TenantFixture
) -> None:
    await enable(db, tenant.id)
    SCRIPTS[tenant.id].failures_left = 1
    await emit_changes(db, tenant.id, uuid.uuid4(), [1])
    subject = dispatcher(db)
    assert (await subject.run_once(tenant_id=tenant.id)).failed == 1
    sealer = Sealer.from_settings(plugin_settings())
    async with db.unit_of_work(tenant.id) as session:
        await storage.set_enabled(session, tenant.id, SCRIPTED, False, sealer)
    await emit_changes(db, tenant.id, uuid.uuid4(), [2])
    # While disabled: new events are not fanned out to it, pending ones wait.
    report = await subject.run_once(later(120), tenant_id=tenant.id)
    assert report.fanned_out == 0 and report.delivered == 0
    assert await states(db, tenant.id) == {"pending": 1}
    await enable(db, tenant.id)
    resumed = await subject.run_once(later(240), tenant_id=tenant.id)
    await subject.aclose()
    assert resumed.delivered == 1
    assert [e.payload["seq"] for e in SCRIPTS[tenant.id].received] == [1]


async def test_prune_forgets_old_deliveries_but_keeps_dead_ones_and_the_counts(
    db: Database, tenant: TenantFixture
) -> None:
    await enable(db, tenant.id)
    await emit_changes(db, tenant.id, uuid.uuid4(), [1])
    await emit_changes(db, tenant.id, uuid.uuid4(), [1])
    subject = dispatcher(db, dispatch_max_attempts=1)
    SCRIPTS[tenant.id].failures_left = 1  # one of the two fails its only attempt
    await subject.run_once(tenant_id=tenant.id)
    assert await states(db, tenant.id) == {"delivered": 1, "dead": 1}
    assert await subject.prune(later(3600 * 24)) == 0  # not old enough yet
    assert await subject.prune(later(3600 * 24 * 8)) >= 1
    await subject.aclose()
    assert await states(db, tenant.id) == {"dead": 1}
    async with db.unit_of_work(tenant.id) as session:
        health = await storage.health_of(session, tenant.id)
    assert health["plugin:scripted"].delivered_count == 1


async def test_the_app_runs_one_dispatcher_that_tests_drive_explicitly(
    app_runtime: tuple[Any, Any], tenant: TenantFixture
) -> None:
    app, _ = app_runtime
    subject = app.state.dispatcher
    assert isinstance(subject, Dispatcher)
    assert subject._tasks == []  # the background loops are off in tests
    report = await subject.run_once(tenant_id=tenant.id)
    assert report.delivered == 0  # the tenant has no subscriber


async def test_plugin_that_cannot_be_built_fails_its_deliveries_visibly(
    db: Database, tenant: TenantFixture
) -> None:
    def explode(context: PluginContext) -> ScriptedPlugin:
        raise ValueError("the ERP host is not configured")

    broken = dataclasses.replace(SCRIPTED, factory=explode)
    await enable(db, tenant.id, broken)
    await emit_changes(db, tenant.id, uuid.uuid4(), [1])
    subject = Dispatcher(db, registry=PluginRegistry([broken]), settings=plugin_settings())
    report = await subject.run_once(tenant_id=tenant.id)
    await subject.aclose()
    assert report.failed == 1
    async with db.unit_of_work(tenant.id) as session:
        health = await storage.health_of(session, tenant.id)
    assert health["plugin:scripted"].last_error == "ValueError: the ERP host is not configured"
