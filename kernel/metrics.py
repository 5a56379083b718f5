"""Prometheus metrics at ``/metrics`` (``docs/operations.md`` lists every one).

Two kinds:
- counted as things happen, in this process (prometheus-client): GraphQL operations and
  their latency by operation type and name, errors by ``extensions.code``, job failures,
  delivery attempts, open subscriptions, the database pool. A request costs a histogram
  observation and a label lookup, nothing per field;
- read from the database when Prometheus scrapes (never per request): outbox lag per
  subscriber, deliveries pending and dead, circuit breakers open, job lag and failed jobs.
  They describe the whole cluster, so whichever process answers reports them once.

Several server processes report once: with ``PROMETHEUS_MULTIPROC_DIR`` set (to an empty
directory shared by the processes, before they start) the counters live in files there
and any process's ``/metrics`` sums them (prometheus-client's multiprocess mode).

Tenants are labels only where a setting bounds how many: the database-derived gauges
name the ``ZHONGTAI_METRICS_TENANT_LABELS`` tenants with the largest value and fold the
rest into ``tenant="other"``; per-request metrics carry no tenant.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from kernel.db import Database
from kernel.settings import Settings

OTHER = "other"

# ``*_created`` timestamps double the series and no dashboard or alert here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

OPERATION_SECONDS = Histogram(
    "zhongtai_graphql_operation_duration_seconds",
    "GraphQL operations executed, and how long they took (parse to response).",
    ["operation_type", "operation_name"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
GRAPHQL_ERRORS = Counter(
    "zhongtai_graphql_errors",
    "GraphQL errors answered, by extensions.code (operation_type 'none': refused before "
    "an operation was known, e.g. UNAUTHENTICATED or a parse error).",
    ["operation_type", "code"],
)
JOB_FAILURES = Counter(
    "zhongtai_job_failures",
    "Failed runs of durable jobs (each is retried or left failed).",
    ["kind"],
)
DELIVERY_ATTEMPTS = Counter(
    "zhongtai_delivery_attempts",
    "Outbox delivery attempts by outcome: delivered, failed (to be retried) or dead.",
    ["outcome"],
)
SUBSCRIPTIONS_OPEN = Gauge(
    "zhongtai_graphql_subscriptions_open",
    "GraphQL subscriptions running now.",
    multiprocess_mode="livesum",
)
DB_POOL_IN_USE = Gauge(
    "zhongtai_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
DB_POOL_IDLE = Gauge(
    "zhongtai_db_pool_connections_idle",
    "Database connections idle in the pool.",
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "zhongtai_db_pool_waiting",
    "Tasks waiting for a database connection (the pool is exhausted).",
    multiprocess_mode="livesum",
)
DB_POOL_LIMIT = Gauge(
    "zhongtai_db_pool_connections_limit",
    "Most connections the pool opens (size plus overflow).",
    multiprocess_mode="livesum",
)

# How often each process writes its pool gauges in multiprocess mode.
POOL_SAMPLE_SECONDS = 5.0


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _Names:
    """Operation names as labels: the first ``limit`` distinct names keep theirs, later
    ones count as ``other``, so a client inventing names cannot grow the series."""

    def __init__(self) -> None:
        self.limit = 200
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def label(self, name: str | None) -> str:
        if name is None:
            return "anonymous"
        if name in self._seen:
            return name
        with self._lock:
            if len(self._seen) < self.limit:
                self._seen.add(name)
                return name
        return OTHER


_names = _Names()
# The labelled histogram per (type, name) seen, so a request skips the label lookup.
_operation_children: dict[tuple[str, str | None], Any] = {}


def configure(settings: Settings) -> None:
    _names.limit = settings.metrics_operation_names


def record_operation(
    operation_type: str, operation_name: str | None, seconds: float, codes: Iterable[str]
) -> None:
    """One GraphQL operation answered (the HTTP transport calls this once per request)."""
    key = (operation_type, operation_name)
    child = _operation_children.get(key)
    if child is None:
        child = OPERATION_SECONDS.labels(operation_type, _names.label(operation_name))
        if len(_operation_children) < 4 * _names.limit:
            _operation_children[key] = child
    child.observe(seconds)
    for code in codes:
        GRAPHQL_ERRORS.labels(operation_type, code).inc()


def record_refusal(code: str) -> None:
    """A request refused before any operation ran (authentication, parsing, limits)."""
    GRAPHQL_ERRORS.labels("none", code).inc()


def record_refusals(errors: Iterable[Mapping[str, Any]]) -> None:
    """``record_refusal`` for each formatted error of a refused document."""
    for error in errors:
        record_refusal(str(error.get("extensions", {}).get("code", "INTERNAL")))


# The pool --------------------------------------------------------------------------------


def sample_pool(db: Database) -> None:
    """Write this process's pool figures to the gauges."""
    pool: Any = db.engine.pool
    in_use = int(pool.checkedout()) if hasattr(pool, "checkedout") else 0
    idle = int(pool.checkedin()) if hasattr(pool, "checkedin") else 0
    limit = int(pool.size()) + max(0, int(getattr(pool, "_max_overflow", 0)))
    DB_POOL_IN_USE.set(in_use)
    DB_POOL_IDLE.set(idle)
    DB_POOL_LIMIT.set(limit)
    DB_POOL_WAITING.set(_waiting(pool))


def _waiting(pool: Any) -> int:
    # SQLAlchemy's async pool queue wraps an asyncio.Queue; its getters are the tasks
    # blocked in connect(). Nothing public exposes them, so read them defensively.
    queue = getattr(getattr(pool, "_pool", None), "_queue", None)
    getters = getattr(queue, "_getters", None)
    return sum(1 for waiter in getters if not waiter.done()) if getters is not None else 0


async def sample_pool_forever(db: Database) -> None:
    """Multiprocess mode: keep this process's pool gauges current for the others' scrapes."""
    while True:
        sample_pool(db)
        await asyncio.sleep(POOL_SAMPLE_SECONDS)


# Read from the database at scrape time -------------------------------------------------------

_DELIVERIES = sa.text(
    """
    SELECT tenant_id, subscriber,
           count(*) FILTER (WHERE state = 'pending') AS pending,
           count(*) FILTER (WHERE state = 'dead') AS dead,
           min(occurred_at) FILTER (WHERE state = 'pending') AS oldest_pending
    FROM store.delivery
    WHERE state <> 'delivered'
    GROUP BY tenant_id, subscriber
    """
)
_UNPUBLISHED = sa.text(
    "SELECT count(*), min(occurred_at) FROM kernel.outbox_event WHERE published_at IS NULL"
)
_BREAKERS = sa.text(
    "SELECT tenant_id, subscriber, circuit_open_until > :now AS open FROM store.subscriber_health"
)
_JOBS = sa.text(
    """
    SELECT tenant_id, kind,
           count(*) FILTER (WHERE status = 'pending' AND due_at <= :now) AS due,
           min(due_at) FILTER (WHERE status = 'pending' AND due_at <= :now) AS oldest_due,
           count(*) FILTER (WHERE status = 'failed') AS failed
    FROM kernel.scheduled_job
    WHERE status IN ('pending', 'failed')
    GROUP BY tenant_id, kind
    """
)


def _subscriber(name: str) -> str:
    # Webhook subscribers are named by endpoint id, one per tenant's endpoint: unbounded.
    return "webhook" if name.startswith("webhook:") else name


@dataclass
class _Gauge:
    """One database-derived gauge: values per (tenant, *labels), folded at export time."""

    name: str
    documentation: str
    labels: tuple[str, ...]
    combine: Callable[[float, float], float]
    values: dict[tuple[uuid.UUID | None, tuple[str, ...]], float] = field(default_factory=dict)

    def add(self, tenant: uuid.UUID | None, labels: tuple[str, ...], value: float) -> None:
        key = (tenant, labels)
        found = self.values.get(key)
        self.values[key] = value if found is None else self.combine(found, value)

    def family(self, tenant_labels: int) -> Metric:
        names = ["tenant", *self.labels] if tenant_labels else list(self.labels)
        family = GaugeMetricFamily(self.name, self.documentation, labels=names)
        named: set[uuid.UUID | None] = set()
        if tenant_labels:
            # The tenants with the largest value (over all their series) keep their id.
            per_tenant: dict[uuid.UUID | None, float] = {}
            for (tenant, _), value in self.values.items():
                per_tenant[tenant] = max(per_tenant.get(tenant, value), value)
            ranked = sorted(per_tenant, key=lambda t: (-per_tenant[t], str(t)))
            named = set(ranked[:tenant_labels])
        folded: dict[tuple[str, ...], float] = {}
        for (tenant, labels), value in self.values.items():
            key = labels
            if tenant_labels:
                key = (str(tenant) if tenant in named else OTHER, *labels)
            found = folded.get(key)
            folded[key] = value if found is None else self.combine(found, value)
        for key, value in sorted(folded.items()):
            family.add_metric(list(key), value)
        return family


def _sum(a: float, b: float) -> float:
    return a + b


def _max(a: float, b: float) -> float:
    return max(a, b)


@dataclass(eq=False)  # a collector: registries key them by identity
class DatabaseSnapshot:
    """The database-derived gauges of one scrape."""

    gauges: list[_Gauge]
    tenant_labels: int

    def collect(self) -> Iterator[Metric]:
        for gauge in self.gauges:
            yield gauge.family(self.tenant_labels)


async def read_database(
    db: Database, tenant_labels: int, now: datetime | None = None
) -> tuple[DatabaseSnapshot, DatabaseSnapshot]:
    """Outbox, delivery, breaker and job figures across all tenants, in one short
    read-only transaction under a statement timeout: the per-tenant gauges, then the
    outbox-wide ones (which have no tenant to name)."""
    now = now or datetime.now(UTC)
    lag = _Gauge(
        "zhongtai_outbox_lag_seconds",
        "Age of the oldest undelivered (pending) event, per subscriber.",
        ("subscriber",),
        _max,
    )
    deliveries = _Gauge(
        "zhongtai_deliveries",
        "Deliveries not delivered yet, by state: pending (due or retrying) and dead (dead letters).",
        ("subscriber", "state"),
        _sum,
    )
    unpublished = _Gauge(
        "zhongtai_outbox_unpublished_events",
        "Outbox events not yet fanned out to subscribers.",
        (),
        _sum,
    )
    unpublished_age = _Gauge(
        "zhongtai_outbox_unpublished_age_seconds",
        "Age of the oldest outbox event not yet fanned out.",
        (),
        _max,
    )
    breakers = _Gauge(
        "zhongtai_circuit_breakers_open",
        "Plugin installations and webhooks whose circuit breaker is open, per subscriber.",
        ("subscriber",),
        _sum,
    )
    job_lag = _Gauge(
        "zhongtai_job_lag_seconds",
        "How long the oldest due job of each kind has waited past its due time.",
        ("kind",),
        _max,
    )
    jobs_due = _Gauge("zhongtai_jobs_due", "Jobs due and not run yet, by kind.", ("kind",), _sum)
    jobs_failed = _Gauge(
        "zhongtai_jobs_failed",
        "Jobs left failed after their last attempt (an operator's to look at), by kind.",
        ("kind",),
        _sum,
    )
    async with db.unit_of_work() as session:
        await session.execute(sa.text("SET TRANSACTION READ ONLY"))
        await session.execute(sa.text("SET LOCAL statement_timeout = '5s'"))
        for tenant, subscriber, pending, dead, oldest in await session.execute(_DELIVERIES):
            name = _subscriber(subscriber)
            deliveries.add(tenant, (name, "pending"), pending)
            deliveries.add(tenant, (name, "dead"), dead)
            age = (now - oldest).total_seconds() if oldest is not None else 0.0
            lag.add(tenant, (name,), max(0.0, age))
        count, oldest = (await session.execute(_UNPUBLISHED)).one()
        unpublished.add(None, (), count)
        unpublished_age.add(
            None, (), max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        )
        for tenant, subscriber, is_open in await session.execute(_BREAKERS, {"now": now}):
            breakers.add(tenant, (_subscriber(subscriber),), 1.0 if is_open else 0.0)
        for tenant, kind, due, oldest_due, failed in await session.execute(_JOBS, {"now": now}):
            jobs_due.add(tenant, (kind,), due)
            jobs_failed.add(tenant, (kind,), failed)
            age = (now - oldest_due).total_seconds() if oldest_due is not None else 0.0
            job_lag.add(tenant, (kind,), max(0.0, age))
    return DatabaseSnapshot(
        [lag, deliveries, breakers, job_lag, jobs_due, jobs_failed],
        tenant_labels,
    ), DatabaseSnapshot([unpublished, unpublished_age], 0)


async def exposition(db: Database, settings: Settings) -> bytes:
    """The text ``/metrics`` answers."""
    sample_pool(db)
    registry: CollectorRegistry = REGISTRY
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    snapshots = await read_database(db, settings.metrics_tenant_labels)
    scraped = CollectorRegistry(auto_describe=False)
    for snapshot in snapshots:
        scraped.register(snapshot)
    return generate_latest(registry) + generate_latest(scraped)


# Who may scrape ----------------------------------------------------------------------------


def _allowed(request: Request, settings: Settings) -> bool:
    token = settings.metrics_token
    if token is not None:
        sent = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if hmac.compare_digest(sent.encode(), expected.encode()):
            return True
    host = request.client.host if request.client else None
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.metrics_allow)


async def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics``: for a scraper with the bearer token or from an allowed network."""
    runtime: Any = request.app.state.runtime
    settings: Settings = runtime.settings
    if not _allowed(request, settings):
        headers = {"WWW-Authenticate": 'Bearer realm="metrics"'} if settings.metrics_token else None
        return PlainTextResponse("forbidden\n", status_code=403, headers=headers)
    body = await exposition(runtime.db, settings)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
