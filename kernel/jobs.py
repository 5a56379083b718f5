"""Durable scheduled jobs: rows in ``kernel.scheduled_job``, due at a time, run once.

A job is scheduled inside the caller's transaction (an order and its payment-timeout job
commit together or not at all). The runner claims one due job at a time with
``FOR UPDATE SKIP LOCKED`` and runs its handler in the same transaction that marks it
done, so a job fires exactly once even with several server processes and across
restarts. A failing handler's effects roll back; the job is retried with exponential
backoff and jitter until ``max_attempts``, then left ``failed`` for an operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import metrics, tracing
from kernel.batch import Batch
from kernel.db import Database, bind_tenant
from kernel.ids import new_id

log = logging.getLogger("zhongtai.jobs")

metadata = sa.MetaData(schema="kernel")

scheduled_job = sa.Table(
    "scheduled_job",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
)

PENDING, DONE, FAILED, CANCELLED = "pending", "done", "failed", "cancelled"

# Built once: scheduling is on the placement hot path (payment timeout, reservation TTL).
_SCHEDULE = (
    insert(scheduled_job)
    .values(
        {
            name: sa.bindparam(name, type_=scheduled_job.c[name].type)
            for name in (
                "tenant_id",
                "id",
                "kind",
                "key",
                "payload",
                "due_at",
                "status",
                "attempts",
                "created_at",
            )
        }
    )
    .on_conflict_do_nothing(index_elements=["tenant_id", "kind", "key"])
    .returning(scheduled_job.c.id)
)


def schedule_sql(
    *,
    tenant_id: str,
    job_id: str,
    kind: str,
    key: str,
    payload: str,
    due_at: str,
    created_at: str,
    when: str = "true",
) -> str:
    """``schedule_job`` as SQL text, to run inside a caller's data-modifying statement
    (``kernel.prepared``) instead of a round trip of its own: each argument is a SQL
    expression (a ``$n`` parameter, a column of an earlier CTE…), ``when`` a condition.
    Idempotent by (tenant, kind, key) like ``schedule_job``; the id should be
    ``new_id()`` (time-ordered) passed as a parameter.
    """
    return (
        "INSERT INTO kernel.scheduled_job"
        " (tenant_id, id, kind, key, payload, due_at, status, attempts, created_at)"
        f" SELECT {tenant_id}, {job_id}, {kind}, {key}, {payload}, {due_at},"
        f" '{PENDING}', 0, {created_at} WHERE {when}"
        " ON CONFLICT (tenant_id, kind, key) DO NOTHING"
    )


def schedule_in(
    batch: Batch,
    tenant_id: uuid.UUID,
    kind: str,
    key: str,
    due_at: datetime,
    payload: Mapping[str, Any] | None = None,
    *,
    when: str = "true",
) -> None:
    """``schedule_job`` as a part of ``batch`` (scheduled if ``when`` holds there)."""
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    name = batch.fresh("job")
    batch.add(
        name,
        schedule_sql(
            tenant_id=batch.arg(tenant_id, "uuid"),
            job_id=batch.arg(new_id(), "uuid"),
            kind=batch.arg(kind, "text"),
            key=batch.arg(key, "text"),
            payload=batch.arg(json.dumps(dict(payload or {})), "json"),
            due_at=batch.arg(due_at, "timestamptz"),
            created_at=batch.arg(datetime.now(UTC), "timestamptz"),
            when=when,
        ),
    )


JobHandler = Callable[[AsyncSession, uuid.UUID, Mapping[str, Any]], Awaitable[None]]


async def schedule_job(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    kind: str,
    key: str,
    due_at: datetime,
    payload: Mapping[str, Any] | None = None,
) -> bool:
    """Schedule ``kind`` for ``key`` at ``due_at``; False if it was already scheduled.

    Idempotent by (tenant, kind, key): scheduling the same job twice keeps the first.
    """
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    inserted = await session.execute(
        _SCHEDULE,
        {
            "tenant_id": tenant_id,
            "id": new_id(),
            "kind": kind,
            "key": key,
            "payload": dict(payload or {}),
            "due_at": due_at,
            "status": PENDING,
            "attempts": 0,
            "created_at": datetime.now(UTC),
        },
    )
    return inserted.first() is not None


async def cancel_job(session: AsyncSession, tenant_id: uuid.UUID, kind: str, key: str) -> bool:
    """Cancel a pending job; False if there was none pending, or a worker is running it
    right now. Handlers re-check their subject's state under its lock, so a job that
    runs anyway finds nothing to do. Skipping a claimed row keeps the lock order of
    workers (job, then subject) from meeting ours (subject, then job) in a deadlock."""
    idle = (
        sa.select(scheduled_job.c.id)
        .where(
            scheduled_job.c.tenant_id == tenant_id,
            scheduled_job.c.kind == kind,
            scheduled_job.c.key == key,
            scheduled_job.c.status == PENDING,
        )
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(
        sa.update(scheduled_job)
        .where(scheduled_job.c.tenant_id == tenant_id, scheduled_job.c.id == idle)
        .values(status=CANCELLED, finished_at=datetime.now(UTC))
        .returning(scheduled_job.c.id)
    )
    return result.first() is not None


async def job_status(
    session: AsyncSession, tenant_id: uuid.UUID, kind: str, key: str
) -> str | None:
    return await session.scalar(
        sa.select(scheduled_job.c.status).where(
            scheduled_job.c.tenant_id == tenant_id,
            scheduled_job.c.kind == kind,
            scheduled_job.c.key == key,
        )
    )


_CLAIM = (
    sa.select(
        scheduled_job.c.tenant_id,
        scheduled_job.c.id,
        scheduled_job.c.kind,
        scheduled_job.c.payload,
        scheduled_job.c.attempts,
    )
    .where(scheduled_job.c.status == PENDING, scheduled_job.c.due_at <= sa.bindparam("now"))
    .order_by(scheduled_job.c.due_at)
    .limit(1)
    .with_for_update(skip_locked=True)
)


class JobRunner:
    """Runs due jobs; ``run_due`` for tests and ``run_forever`` for the server."""

    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, JobHandler],
        *,
        max_attempts: int = 8,
        base_backoff_seconds: float = 5.0,
    ) -> None:
        self.db = db
        self.handlers = dict(handlers)
        self.max_attempts = max_attempts
        self.base_backoff_seconds = base_backoff_seconds

    async def run_due(
        self,
        now: datetime | None = None,
        *,
        tenant_id: uuid.UUID | None = None,
        limit: int = 1000,
        stop: asyncio.Event | None = None,
    ) -> int:
        """Run jobs due by ``now`` (default: the current time), of one tenant if given
        (tests pass theirs, so they never run another test's jobs); returns how many ran.
        Stops between two jobs once ``stop`` is set."""
        claim = (
            _CLAIM if tenant_id is None else _CLAIM.where(scheduled_job.c.tenant_id == tenant_id)
        )
        ran = 0
        while ran < limit and not (stop is not None and stop.is_set()):
            if not await self._run_one(claim, now or datetime.now(UTC)):
                break
            ran += 1
        return ran

    async def _run_one(self, claim: sa.Select[Any], now: datetime) -> bool:
        async with self.db.unit_of_work() as session:
            row = (await session.execute(claim, {"now": now})).first()
            if row is None:
                return False
            tenant_id, job_id, kind, payload, attempts = row
            with tracing.job_span(kind, tenant_id, job_id) as span:
                await bind_tenant(session, tenant_id)
                handler = self.handlers.get(kind)
                error: str | None = None
                if handler is None:
                    error = f"no handler for job kind {kind!r}"
                else:
                    try:
                        async with session.begin_nested():
                            await handler(session, tenant_id, payload)
                    except Exception as exc:  # the job's effects roll back; it is retried
                        log.exception("job %s (%s) failed", job_id, kind)
                        error = f"{type(exc).__name__}: {exc}"[:2000]
                if error is not None:
                    tracing.record_failure(span, error)
                    metrics.JOB_FAILURES.labels(kind if handler else "unknown").inc()
            await session.execute(
                sa.update(scheduled_job)
                .where(scheduled_job.c.tenant_id == tenant_id, scheduled_job.c.id == job_id)
                .values(self._outcome(now, attempts + 1, error))
            )
            return True

    def _outcome(self, now: datetime, attempts: int, error: str | None) -> dict[str, Any]:
        if error is None:
            return {"status": DONE, "attempts": attempts, "finished_at": now}
        if attempts >= self.max_attempts:
            return {"status": FAILED, "attempts": attempts, "last_error": error, "finished_at": now}
        backoff = self.base_backoff_seconds * 2 ** (attempts - 1)
        jitter = random.uniform(0, backoff / 2)  # noqa: S311 - spreading retries, not security
        return {
            "attempts": attempts,
            "last_error": error,
            "due_at": now + timedelta(seconds=backoff + jitter),
        }

    async def run_forever(self, interval_seconds: float, stop: asyncio.Event | None = None) -> None:
        """Poll for due jobs until ``stop`` is set (the job running then finishes first)
        or the task is cancelled; a database outage only delays them."""
        stopping = stop or asyncio.Event()
        while not stopping.is_set():
            try:
                await self.run_due(stop=stopping)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job runner iteration failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval_seconds)
