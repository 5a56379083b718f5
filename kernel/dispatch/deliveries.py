"""Every query on delivery state: fan-out of outbox events, claiming due deliveries,
recording outcomes and health, dead letters and metrics. Never commits."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.ids import new_id
from kernel.outbox import outbox_event
from kernel.plugins.tables import delivery, subscriber_health

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    tenant_id: uuid.UUID
    id: uuid.UUID
    topic: str
    aggregate_id: uuid.UUID
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Claimed:
    tenant_id: uuid.UUID
    subscriber: str
    event_id: uuid.UUID
    topic: str
    aggregate_id: uuid.UUID
    occurred_at: datetime
    attempts: int
    payload: Mapping[str, Any]
    trace_parent: str | None = None  # the writer's W3C traceparent (kernel.tracing)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: uuid.UUID
    subscriber: str
    event_id: uuid.UUID
    topic: str
    aggregate_id: uuid.UUID
    occurred_at: datetime
    attempts: int
    last_error: str | None
    failed_at: datetime


@dataclass(frozen=True, slots=True)
class SubscriberCounts:
    subscriber: str
    pending: int
    dead: int
    oldest_pending_at: datetime | None


async def unpublished_events(
    session: AsyncSession, limit: int, tenant_id: uuid.UUID | None = None
) -> list[OutboxRow]:
    """Oldest events not fanned out yet, locked so a second dispatcher skips them."""
    query = (
        sa.select(
            outbox_event.c.tenant_id,
            outbox_event.c.id,
            outbox_event.c.topic,
            outbox_event.c.aggregate_id,
            outbox_event.c.occurred_at,
        )
        .where(outbox_event.c.published_at.is_(None))
        .order_by(outbox_event.c.occurred_at, outbox_event.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if tenant_id is not None:
        query = query.where(outbox_event.c.tenant_id == tenant_id)
    rows = await session.execute(query)
    return [OutboxRow(*row) for row in rows.all()]


async def fan_out(
    session: AsyncSession,
    events: Sequence[OutboxRow],
    subscribers_of: Mapping[uuid.UUID, Sequence[tuple[str, Sequence[str]]]],
    now: datetime,
    topic_matches: Any,
) -> int:
    """One pending delivery per (matching subscriber, event); marks the events published.
    ``subscribers_of`` maps a tenant to its (subscriber, topic patterns)."""
    rows: list[dict[str, Any]] = []
    for event in events:
        for subscriber, patterns in subscribers_of.get(event.tenant_id, ()):
            if topic_matches(patterns, event.topic):
                rows.append(
                    {
                        "tenant_id": event.tenant_id,
                        "subscriber": subscriber,
                        "event_id": event.id,
                        "id": new_id(),
                        "topic": event.topic,
                        "aggregate_id": event.aggregate_id,
                        "occurred_at": event.occurred_at,
                        "state": PENDING,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
    if rows:
        await session.execute(insert(delivery).on_conflict_do_nothing(), rows)
    if events:
        await session.execute(
            sa.update(outbox_event)
            .where(
                sa.tuple_(outbox_event.c.tenant_id, outbox_event.c.id).in_(
                    [(e.tenant_id, e.id) for e in events]
                )
            )
            .values(published_at=now)
        )
    return len(rows)


# Due deliveries whose subscriber is enabled (and, for a plugin, installed in this
# process) and which no earlier undelivered event of
# the same aggregate precedes (order per aggregate: a dead letter blocks the events
# after it until it is replayed). At most :per_tenant per tenant, so one tenant's backlog
# cannot starve the others, and at most :per_subscriber per subscriber, so a hanging one
# holds few calls at a time; the lease keeps a second dispatcher off them meanwhile.
_CLAIM = sa.text(
    """
    WITH due AS (
      SELECT d.tenant_id, d.subscriber, d.event_id,
             row_number() OVER (PARTITION BY d.tenant_id ORDER BY d.next_attempt_at) AS rank,
             row_number() OVER (PARTITION BY d.tenant_id, d.subscriber
                                ORDER BY d.next_attempt_at) AS subscriber_rank
      FROM store.delivery d
      WHERE d.state = 'pending' AND d.next_attempt_at <= :now
        AND (CAST(:tenant AS uuid) IS NULL OR d.tenant_id = CAST(:tenant AS uuid))
        AND (d.tenant_id, d.subscriber) NOT IN (
          SELECT * FROM unnest(CAST(:open_tenants AS uuid[]), CAST(:open_subscribers AS text[])))
        AND NOT EXISTS (
          SELECT 1 FROM store.delivery e
          WHERE e.tenant_id = d.tenant_id AND e.subscriber = d.subscriber
            AND e.aggregate_id = d.aggregate_id AND e.state <> 'delivered'
            AND (e.occurred_at, e.event_id) < (d.occurred_at, d.event_id))
        AND (
          EXISTS (SELECT 1 FROM store.plugin_installation i
                  WHERE i.tenant_id = d.tenant_id AND i.enabled
                    AND d.subscriber = 'plugin:' || i.plugin
                    AND i.plugin = ANY(CAST(:installed AS text[])))
          OR EXISTS (SELECT 1 FROM store.webhook_endpoint w
                     WHERE w.tenant_id = d.tenant_id AND w.enabled
                       AND d.subscriber = 'webhook:' || w.id::text))
    ),
    picked AS (
      SELECT d.tenant_id, d.subscriber, d.event_id
      FROM store.delivery d
      JOIN due ON due.tenant_id = d.tenant_id AND due.subscriber = d.subscriber
              AND due.event_id = d.event_id
      WHERE due.rank <= :per_tenant AND due.subscriber_rank <= :per_subscriber
        AND d.state = 'pending' AND d.next_attempt_at <= :now
      ORDER BY d.next_attempt_at
      LIMIT :batch
      FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE store.delivery d
    SET next_attempt_at = :lease_until, updated_at = :now
    FROM picked, kernel.outbox_event o
    WHERE d.tenant_id = picked.tenant_id AND d.subscriber = picked.subscriber
      AND d.event_id = picked.event_id
      AND o.tenant_id = d.tenant_id AND o.id = d.event_id
    RETURNING d.tenant_id, d.subscriber, d.event_id, d.topic, d.aggregate_id,
              d.occurred_at, d.attempts, o.payload, o.trace_parent
    """
)


async def claim_due(
    session: AsyncSession,
    now: datetime,
    *,
    lease: timedelta,
    batch: int,
    per_tenant: int,
    installed_plugins: Sequence[str],
    per_subscriber: int = 1000,
    tenant_id: uuid.UUID | None = None,
    skip: Sequence[tuple[uuid.UUID, str]] = (),
) -> list[Claimed]:
    """Claim due deliveries (see ``_CLAIM``), leaving out the (tenant, subscriber) pairs
    in ``skip`` (their circuit breaker is open) and plugins not in ``installed_plugins``
    (missing from this process: their deliveries wait, pending, without spending an
    attempt, for a dispatcher that has the plugin)."""
    rows = await session.execute(
        _CLAIM,
        {
            "installed": list(installed_plugins),
            "open_tenants": [t for t, _ in skip],
            "open_subscribers": [s for _, s in skip],
            "tenant": str(tenant_id) if tenant_id else None,
            "now": now,
            "lease_until": now + lease,
            "batch": batch,
            "per_tenant": per_tenant,
            "per_subscriber": per_subscriber,
        },
    )
    claimed = [Claimed(*row) for row in rows.all()]
    claimed.sort(key=lambda c: (c.occurred_at, c.event_id))
    return claimed


def _key(tenant_id: uuid.UUID, subscriber: str, event_id: uuid.UUID) -> Any:
    return sa.and_(
        delivery.c.tenant_id == tenant_id,
        delivery.c.subscriber == subscriber,
        delivery.c.event_id == event_id,
    )


async def mark_delivered_many(
    session: AsyncSession, items: Sequence[Claimed], now: datetime
) -> None:
    """``mark_delivered`` for a batch, in one statement."""
    if not items:
        return
    await session.execute(
        sa.update(delivery)
        .where(
            sa.tuple_(delivery.c.tenant_id, delivery.c.subscriber, delivery.c.event_id).in_(
                [(i.tenant_id, i.subscriber, i.event_id) for i in items]
            )
        )
        .values(
            state=DELIVERED,
            attempts=delivery.c.attempts + 1,
            delivered_at=now,
            last_error=None,
            updated_at=now,
        )
    )


async def mark_failed(
    session: AsyncSession, item: Claimed, now: datetime, error: str, retry_at: datetime | None
) -> None:
    """Count a failed attempt: retry at ``retry_at``, or dead-letter when ``None``."""
    await session.execute(
        sa.update(delivery)
        .where(_key(item.tenant_id, item.subscriber, item.event_id))
        .values(
            state=DEAD if retry_at is None else PENDING,
            attempts=delivery.c.attempts + 1,
            next_attempt_at=retry_at or now,
            last_error=error[:2000],
            updated_at=now,
        )
    )


async def release(session: AsyncSession, item: Claimed, now: datetime, at: datetime) -> None:
    """Give a claimed delivery back without counting an attempt (breaker open)."""
    await session.execute(
        sa.update(delivery)
        .where(_key(item.tenant_id, item.subscriber, item.event_id))
        .values(next_attempt_at=at, updated_at=now)
    )


async def record_health(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    subscriber: str,
    now: datetime,
    *,
    ok: bool,
    latency_ms: int,
    error: str | None = None,
    circuit_open_until: datetime | None = None,
) -> None:
    h = subscriber_health
    values = {
        "tenant_id": tenant_id,
        "subscriber": subscriber,
        "consecutive_failures": 0 if ok else 1,
        "last_error": None if ok else error,
        "last_error_at": None if ok else now,
        "last_success_at": now if ok else None,
        "circuit_open_until": circuit_open_until,
        "delivered_count": 1 if ok else 0,
        "failed_count": 0 if ok else 1,
        "total_latency_ms": latency_ms,
    }
    statement = insert(h).values(values)
    excluded = statement.excluded
    if ok:
        update = {
            "consecutive_failures": 0,
            "last_success_at": excluded.last_success_at,
            "circuit_open_until": None,
            "delivered_count": h.c.delivered_count + 1,
            "total_latency_ms": h.c.total_latency_ms + excluded.total_latency_ms,
        }
    else:
        update = {
            "consecutive_failures": h.c.consecutive_failures + 1,
            "last_error": excluded.last_error,
            "last_error_at": excluded.last_error_at,
            "circuit_open_until": excluded.circuit_open_until,
            "failed_count": h.c.failed_count + 1,
            "total_latency_ms": h.c.total_latency_ms + excluded.total_latency_ms,
        }
    await session.execute(
        statement.on_conflict_do_update(index_elements=[h.c.tenant_id, h.c.subscriber], set_=update)
    )


@dataclass
class HealthDelta:
    """What a batch of outcomes changes in one subscriber's health."""

    tenant_id: uuid.UUID
    subscriber: str
    delivered: int = 0
    failed: int = 0
    latency_ms: int = 0
    succeeded_in_batch: bool = False
    trailing_failures: int = 0  # failures after the batch's last success
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_success_at: datetime | None = None
    circuit_open_until: datetime | None = None

    def add(self, ok: bool, latency_ms: int, error: str | None, now: datetime) -> None:
        self.latency_ms += latency_ms
        if ok:
            self.delivered += 1
            self.succeeded_in_batch = True
            self.trailing_failures = 0
            self.last_success_at = now
        else:
            self.failed += 1
            self.trailing_failures += 1
            self.last_error = error
            self.last_error_at = now


_HEALTH_MANY = sa.text(
    """
    INSERT INTO store.subscriber_health AS h
      (tenant_id, subscriber, consecutive_failures, last_error, last_error_at,
       last_success_at, circuit_open_until, delivered_count, failed_count, total_latency_ms)
    VALUES (:tenant_id, :subscriber, :trailing_failures, :last_error, :last_error_at,
            :last_success_at, :circuit_open_until, :delivered, :failed, :latency_ms)
    ON CONFLICT (tenant_id, subscriber) DO UPDATE SET
      consecutive_failures = CASE WHEN :succeeded_in_batch THEN EXCLUDED.consecutive_failures
                                  ELSE h.consecutive_failures + EXCLUDED.consecutive_failures END,
      last_error = COALESCE(EXCLUDED.last_error, h.last_error),
      last_error_at = COALESCE(EXCLUDED.last_error_at, h.last_error_at),
      last_success_at = COALESCE(EXCLUDED.last_success_at, h.last_success_at),
      circuit_open_until = EXCLUDED.circuit_open_until,
      delivered_count = h.delivered_count + EXCLUDED.delivered_count,
      failed_count = h.failed_count + EXCLUDED.failed_count,
      total_latency_ms = h.total_latency_ms + EXCLUDED.total_latency_ms
    """
)


async def record_health_many(session: AsyncSession, deltas: Sequence[HealthDelta]) -> None:
    """Apply a batch's health changes: one upsert per subscriber."""
    if deltas:
        await session.execute(_HEALTH_MANY, [dataclasses.asdict(d) for d in deltas])


async def dead_letters(
    session: AsyncSession, tenant_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[DeadLetter]:
    query = sa.select(
        delivery.c.id,
        delivery.c.subscriber,
        delivery.c.event_id,
        delivery.c.topic,
        delivery.c.aggregate_id,
        delivery.c.occurred_at,
        delivery.c.attempts,
        delivery.c.last_error,
        delivery.c.updated_at,
    ).where(delivery.c.tenant_id == tenant_id, delivery.c.state == DEAD)
    if after is not None:
        query = query.where(delivery.c.id > after)
    rows = await session.execute(query.order_by(delivery.c.id).limit(limit))
    return [DeadLetter(*row) for row in rows.all()]


async def replay(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID], now: datetime
) -> list[uuid.UUID]:
    """Put dead letters back to pending with fresh attempts; returns the ids replayed."""
    if not ids:
        return []
    rows = await session.execute(
        sa.update(delivery)
        .where(
            delivery.c.tenant_id == tenant_id,
            delivery.c.id.in_(list(ids)),
            delivery.c.state == DEAD,
        )
        .values(state=PENDING, attempts=0, next_attempt_at=now, updated_at=now)
        .returning(delivery.c.id)
    )
    return [row[0] for row in rows.all()]


async def counts(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, SubscriberCounts]:
    """Pending and dead deliveries per subscriber (delivered ones are counted in health)."""
    rows = await session.execute(
        sa.select(
            delivery.c.subscriber,
            sa.func.count().filter(delivery.c.state == PENDING),
            sa.func.count().filter(delivery.c.state == DEAD),
            sa.func.min(delivery.c.occurred_at).filter(delivery.c.state == PENDING),
        )
        .where(delivery.c.tenant_id == tenant_id, delivery.c.state != DELIVERED)
        .group_by(delivery.c.subscriber)
    )
    return {row[0]: SubscriberCounts(*row) for row in rows.all()}


_PRUNE = sa.text(
    """
    DELETE FROM store.delivery WHERE ctid IN (
      SELECT ctid FROM store.delivery
      WHERE state = 'delivered' AND delivered_at < :before
      LIMIT :limit)
    """
)


async def prune_delivered(session: AsyncSession, before: datetime, limit: int) -> int:
    """Forget up to ``limit`` deliveries delivered before ``before`` (the counts live on
    in ``subscriber_health``); pending and dead ones are kept."""
    result = await session.execute(_PRUNE, {"before": before, "limit": limit})
    return int(getattr(result, "rowcount", 0) or 0)
