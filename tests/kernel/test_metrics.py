"""``/metrics``: who may scrape it, what a request adds, what the database shows, and
several processes reporting once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from kernel import metrics
from kernel.app import Runtime
from kernel.ids import new_id
from tests.conftest import TenantFixture, gql

ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(client: httpx.AsyncClient, **headers: str) -> str:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_an_operation_counts_once_by_type_and_name(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    name = f"Roles{uuid.uuid4().hex[:8]}"
    before = await scrape(client)
    body = await gql(client, token, f"query {name} {{ accessRoles {{ name }} }}")
    assert "errors" not in body
    after = await scrape(client)
    labels = {"operation_type": "query", "operation_name": name}
    count = "zhongtai_graphql_operation_duration_seconds_count"
    assert value(after, count, **labels) == value(before, count, **labels) + 1
    assert (
        value(after, "zhongtai_graphql_operation_duration_seconds_bucket", le="+Inf", **labels) == 1
    )


async def test_errors_count_by_extensions_code(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    before = await scrape(client)
    refused = await gql(client, None, "{ accessRoles { name } }")
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    nobody = await tenant.token(None)
    denied = await gql(client, nobody, "query Denied { accessRoles { name } }")
    code = denied["errors"][0]["extensions"]["code"]
    after = await scrape(client)
    errors = "zhongtai_graphql_errors_total"
    unauthenticated = {"operation_type": "none", "code": "UNAUTHENTICATED"}
    assert value(after, errors, **unauthenticated) == value(before, errors, **unauthenticated) + 1
    forbidden = {"operation_type": "query", "code": code}
    assert value(after, errors, **forbidden) == value(before, errors, **forbidden) + 1


async def test_operation_names_past_the_limit_count_as_other() -> None:
    names = metrics._Names()
    names.limit = 2
    assert [names.label(n) for n in ("A", "B", "C", "A", None)] == [
        "A",
        "B",
        "other",
        "A",
        "anonymous",
    ]


async def test_metrics_refuse_an_unlisted_address_without_the_token(
    app_runtime: tuple[Any, Runtime],
) -> None:
    app, runtime = app_runtime
    outside = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=outside, base_url="http://zhongtai.test") as remote:
        assert (await remote.get("/metrics")).status_code == 403
        original = runtime.settings
        runtime.settings = original.model_copy(update={"metrics_token": SecretStr("scrape-me")})
        try:
            wrong = await remote.get("/metrics", headers={"authorization": "Bearer nope"})
            assert wrong.status_code == 403
            assert wrong.headers["www-authenticate"].startswith("Bearer")
            right = await remote.get("/metrics", headers={"authorization": "Bearer scrape-me"})
            assert right.status_code == 200
            assert "zhongtai_db_pool_connections_in_use" in right.text
        finally:
            runtime.settings = original


async def _delivery(
    runtime: Runtime, tenant_id: uuid.UUID, subscriber: str, state: str, age: timedelta
) -> None:
    occurred = datetime.now(UTC) - age
    async with runtime.db.unit_of_work() as session:
        event_id = new_id()
        await session.execute(
            sa.text(
                "INSERT INTO kernel.outbox_event (tenant_id, id, topic, aggregate_id, payload,"
                " occurred_at, published_at) VALUES (:t, :e, 'test.metric', :a, '{}', :o, :o)"
            ),
            {"t": tenant_id, "e": event_id, "a": new_id(), "o": occurred},
        )
        await session.execute(
            sa.text(
                "INSERT INTO store.delivery (tenant_id, subscriber, event_id, id, topic,"
                " aggregate_id, occurred_at, state, attempts, next_attempt_at, created_at,"
                " updated_at) VALUES (:t, :s, :e, :i, 'test.metric', :a, :o, :st, 1, :o, :o, :o)"
            ),
            {
                "t": tenant_id,
                "s": subscriber,
                "e": event_id,
                "i": new_id(),
                "a": new_id(),
                "o": occurred,
                "st": state,
            },
        )


def _gauges(snapshot: metrics.DatabaseSnapshot) -> dict[tuple[str, tuple[str, ...]], float]:
    return {
        (family.name, tuple(s.labels.get(k, "") for k in sorted(s.labels))): s.value
        for family in snapshot.collect()
        for s in family.samples
    }


async def test_outbox_lag_and_dead_letters_per_subscriber_and_tenant(
    runtime: Runtime, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    await _delivery(runtime, tenant.id, "plugin:erp-rest", "pending", timedelta(hours=30))
    await _delivery(runtime, tenant.id, "plugin:erp-rest", "dead", timedelta(hours=31))
    await _delivery(runtime, other_tenant.id, "webhook:" + str(new_id()), "pending", timedelta(0))
    # Enough tenant labels for every tenant of the test database: ours are named.
    named, _ = await metrics.read_database(runtime.db, tenant_labels=1_000_000)
    gauges = _gauges(named)
    # Sorted label names: (state, subscriber, tenant) and (subscriber, tenant).
    mine = str(tenant.id)
    assert gauges[("zhongtai_deliveries", ("dead", "plugin:erp-rest", mine))] == 1
    assert gauges[("zhongtai_deliveries", ("pending", "plugin:erp-rest", mine))] == 1
    assert gauges[("zhongtai_outbox_lag_seconds", ("plugin:erp-rest", mine))] >= 30 * 3600
    # Webhook endpoints are one subscriber label.
    theirs = str(other_tenant.id)
    assert gauges[("zhongtai_deliveries", ("pending", "webhook", theirs))] == 1
    unnamed, outbox = await metrics.read_database(runtime.db, tenant_labels=0)
    assert all(len(labels) < 3 for (_, labels) in _gauges(unnamed))
    assert ("zhongtai_deliveries", ("dead", "plugin:erp-rest")) in _gauges(unnamed)
    assert {name for name, _ in _gauges(outbox)} == {
        "zhongtai_outbox_unpublished_events",
        "zhongtai_outbox_unpublished_age_seconds",
    }


async def test_tenants_past_the_label_limit_fold_into_other() -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    lag = metrics._Gauge("lag", "doc", ("subscriber",), max)
    pending = metrics._Gauge("pending", "doc", ("subscriber",), lambda x, y: x + y)
    for tenant, age, count in ((a, 900.0, 1), (b, 60.0, 7), (c, 30.0, 2)):
        lag.add(tenant, ("plugin:pos",), age)
        pending.add(tenant, ("plugin:pos",), count)

    def series(gauge: metrics._Gauge, limit: int) -> dict[tuple[str, ...], float]:
        return {tuple(s.labels.values()): s.value for s in gauge.family(limit).samples}

    # The largest value keeps its tenant; the others fold (max of ages, sum of counts).
    assert series(lag, 1) == {(str(a), "plugin:pos"): 900.0, ("other", "plugin:pos"): 60.0}
    assert series(pending, 1) == {(str(b), "plugin:pos"): 7, ("other", "plugin:pos"): 3}
    assert series(pending, 0) == {("plugin:pos",): 10}


async def test_an_open_breaker_and_a_failed_job_show(
    client: httpx.AsyncClient, runtime: Runtime, tenant: TenantFixture
) -> None:
    now = datetime.now(UTC)
    async with runtime.db.unit_of_work() as session:
        await session.execute(
            sa.text(
                "INSERT INTO store.subscriber_health (tenant_id, subscriber, consecutive_failures,"
                " last_error_at, circuit_open_until, delivered_count, failed_count,"
                " total_latency_ms) VALUES (:t, 'plugin:crm-rest', 5, :now, :until, 0, 5, 50)"
            ),
            {"t": tenant.id, "until": now + timedelta(minutes=5), "now": now},
        )
        await session.execute(
            sa.text(
                "INSERT INTO kernel.scheduled_job (tenant_id, id, kind, key, payload, due_at,"
                " status, attempts, last_error, created_at, finished_at)"
                " VALUES (:t, :i, 'metrics.test', 'k', '{}', :due, 'failed', 8, 'boom', :due, :now)"
            ),
            {"t": tenant.id, "i": new_id(), "due": now - timedelta(hours=1), "now": now},
        )
    text = await scrape(client)
    assert value(text, "zhongtai_circuit_breakers_open", subscriber="plugin:crm-rest") >= 1
    assert value(text, "zhongtai_jobs_failed", kind="metrics.test") >= 1


def test_several_processes_report_one_series(tmp_path: Path) -> None:
    """prometheus-client's multiprocess mode: two processes count, a third reports the sum."""
    record = textwrap.dedent(
        """
        from kernel import metrics
        metrics.record_operation("query", "Menu", 0.004, ["NOT_FOUND"])
        """
    )
    report = textwrap.dedent(
        """
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        print(generate_latest(registry).decode())
        """
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", record], env=env, cwd=ROOT, check=True)  # noqa: S603
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", report],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    labels = {"operation_type": "query", "operation_name": "Menu"}
    assert value(out, "zhongtai_graphql_operation_duration_seconds_count", **labels) == 2
    assert (
        value(out, "zhongtai_graphql_errors_total", operation_type="query", code="NOT_FOUND") == 2
    )
