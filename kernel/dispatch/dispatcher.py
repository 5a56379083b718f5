"""The dispatcher loop: fan outbox events out to subscribers, then deliver what is due.

Guarantees (see ``docs/plugins.md``):
- at least once: a delivery is marked delivered only after the subscriber returned; a
  crash mid-call leaves it pending and its lease expires, so it is tried again;
- in order per (subscriber, aggregate): an event waits while an earlier event of the
  same aggregate is undelivered (pending, or dead until replayed);
- isolation: each call runs under a timeout, concurrently with the others and outside
  any database transaction; a circuit breaker per (tenant, subscriber) stops calling a
  failing backend; delivery is asynchronous from the outbox, so order placement never
  waits for a plugin.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import metrics, tracing
from kernel.db import Database
from kernel.dispatch import deliveries
from kernel.dispatch.deliveries import Claimed
from kernel.dispatch.inbound import Inbound
from kernel.dispatch.webhooks import check_public, post_event
from kernel.plugins import storage
from kernel.plugins.breaker import CircuitBreakers
from kernel.plugins.manifest import (
    DeliveredEvent,
    Plugin,
    PluginContext,
    PullingPlugin,
    topic_matches,
)
from kernel.plugins.registry import PluginRegistry, default_registry
from kernel.plugins.sealing import Sealer
from kernel.plugins.settings import PluginSettings, get_plugin_settings

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 500
PRUNE_EVERY = timedelta(hours=1)
PRUNE_BATCH = 5000


@dataclass
class DispatchReport:
    """What one ``run_once`` did."""

    fanned_out: int = 0
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0

    def add(self, other: DispatchReport) -> None:
        self.fanned_out += other.fanned_out
        self.claimed += other.claimed
        self.saturated = self.saturated or other.saturated
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead += other.dead
        self.deferred += other.deferred

    saturated: bool = False  # a batch came back full: more is waiting

    @property
    def worked(self) -> bool:
        return bool(self.fanned_out or self.claimed > self.deferred)


def backoff_delay(
    attempts: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Exponential backoff with equal jitter: half the exponential step plus a random
    share of the other half, capped; ``attempts`` counts failures so far (>= 1)."""
    step = min(cap, base * (1 << min(30, max(0, attempts - 1))))
    return step / 2 + rand() * step / 2


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:MAX_ERROR_LENGTH]


@dataclass
class _Instance:
    # (config_version, updated_at): an installation deleted and configured anew starts
    # again at version 1, so the version alone could match a stale instance.
    version: tuple[int, datetime]
    plugin: Plugin


@dataclass(frozen=True, slots=True)
class _Outcome:
    item: Claimed
    kind: str  # "delivered", "failed" or "deferred"
    error: str | None
    latency_ms: int
    report: DispatchReport


class Dispatcher:
    """Delivers outbox events to enabled plugins and webhooks. One per process; several
    processes may run side by side (claims use ``FOR UPDATE SKIP LOCKED`` and leases)."""

    def __init__(
        self,
        db: Database,
        *,
        registry: PluginRegistry | None = None,
        settings: PluginSettings | None = None,
        sealer: Sealer | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.db = db
        self.registry = registry or default_registry()
        self.settings = settings or get_plugin_settings()
        self.sealer = sealer or Sealer.from_settings(self.settings)
        self._http = http
        self._own_http = http is None
        self._now = datetime.now(UTC)
        self.breakers = CircuitBreakers(
            threshold=self.settings.breaker_failure_threshold,
            cooldown=self.settings.breaker_cooldown_seconds,
            clock=lambda: self._now.timestamp(),
        )
        self._instances: dict[tuple[uuid.UUID, str], _Instance] = {}
        self._last_pull: dict[tuple[uuid.UUID, str], datetime] = {}
        self._last_prune: datetime | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._deliver_lock = asyncio.Lock()
        self._pull_lock = asyncio.Lock()
        # Calls in flight per (tenant, subscriber), and their tasks: the background loop
        # does not wait for a slow subscriber before serving the others.
        self._in_flight: dict[tuple[uuid.UUID, str], int] = {}
        self._calls: set[asyncio.Task[None]] = set()
        # Outcomes of finished calls, written together at the next flush (one short
        # transaction per pass rather than one per call).
        self._outcomes: list[_Outcome] = []

    # Lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Deliver and pull in the background: two loops, so a slow pull never delays a
        delivery, and calls run as tasks of their own, so a slow subscriber never
        delays the next pass."""
        if not self._tasks:
            self._stopping.clear()
            self._tasks = [
                asyncio.create_task(self._loop(), name="zhongtai-dispatcher"),
                asyncio.create_task(self._pull_loop(), name="zhongtai-dispatcher-pulls"),
            ]

    async def stop(self) -> None:
        """Stop the loops; give calls in flight their timeout to finish, then cancel them
        (a cancelled delivery keeps its lease and is sent again later)."""
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._calls:
            _, pending = await asyncio.wait(
                set(self._calls), timeout=self.settings.plugin_call_timeout_seconds + 1
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._flush()
        await self.aclose()

    async def aclose(self) -> None:
        for task in list(self._calls):  # retired instances waiting to close: close now
            task.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)
        for instance in self._instances.values():
            await self._close_quietly(instance.plugin)
        self._instances.clear()
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                report = await self.run_once(wait=False, max_rounds=1)
                now = datetime.now(UTC)
                if self._last_prune is None or now - self._last_prune > PRUNE_EVERY:
                    self._last_prune = now
                    await self.prune(now)
            except Exception:
                log.exception("dispatcher pass failed")
                report = DispatchReport()
            # Pace the loop: go again at once only while batches come back full (a
            # backlog); otherwise events are picked up within the interval.
            if not report.saturated:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stopping.wait(), timeout=self.settings.dispatch_interval_seconds
                    )

    async def _pull_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.pull_once()
            except Exception:
                log.exception("dispatcher pulls failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), timeout=self.settings.dispatch_interval_seconds
                )

    # One pass ---------------------------------------------------------------------------

    async def run_once(
        self,
        now: datetime | None = None,
        *,
        tenant_id: uuid.UUID | None = None,
        max_rounds: int = 20,
        wait: bool = True,
    ) -> DispatchReport:
        """Fan out new events, then deliver until nothing is due (or ``max_rounds``).

        Tests pass ``now`` to reach retries scheduled in the future, and their tenant
        so they never deliver another test's events. ``wait=False`` (the background
        loop) returns once the calls are started; their outcomes are recorded as each
        one ends."""
        async with self._deliver_lock:
            report = DispatchReport()
            for _ in range(max_rounds):
                self._now = now or datetime.now(UTC)
                round_report = DispatchReport(fanned_out=await self._fan_out(tenant_id))
                round_report.add(await self._deliver_due(tenant_id, wait=wait))
                report.add(round_report)
                if not round_report.worked:
                    break
            return report

    async def prune(self, now: datetime | None = None) -> int:
        """Delete deliveries delivered longer ago than the retention; returns how many."""
        before = (now or datetime.now(UTC)) - timedelta(
            hours=self.settings.dispatch_retention_hours
        )
        total = 0
        while True:
            async with self.db.unit_of_work() as session:
                pruned = await deliveries.prune_delivered(session, before, PRUNE_BATCH)
            total += pruned
            if pruned < PRUNE_BATCH:
                return total

    async def pull_once(
        self, now: datetime | None = None, *, tenant_id: uuid.UUID | None = None
    ) -> int:
        """Call ``pull`` on every enabled pulling plugin whose interval has passed (all
        of them concurrently, each under its timeout and breaker); returns how many ran."""
        async with self._pull_lock:
            self._now = now or datetime.now(UTC)
            pulling = [m.name for m in self.registry.all() if m.pull_interval_seconds > 0]
            async with self.db.unit_of_work() as session:
                installations = await storage.pulling_installations(
                    session, pulling, tenant_id, limit=10_000
                )
            due = []
            for installation in installations:
                key = (installation.tenant_id, installation.plugin)
                manifest = self.registry.get(installation.plugin)
                last = self._last_pull.get(key)
                if manifest is None or (
                    last is not None
                    and (self._now - last).total_seconds() < manifest.pull_interval_seconds
                ):
                    continue
                due.append(installation)
            outcomes = await asyncio.gather(*(self._pull(i) for i in due))
            return sum(1 for ran in outcomes if ran)

    async def _pull(self, installation: storage.Installation) -> bool:
        subscriber = storage.plugin_subscriber(installation.plugin)
        breaker_key = (installation.tenant_id, subscriber)
        if not self.breakers.allow(breaker_key):
            return False
        self._last_pull[(installation.tenant_id, installation.plugin)] = self._now
        target = await self._instance(installation)
        timeout = self.settings.plugin_pull_timeout_seconds
        started = time.perf_counter()
        error: str | None = None
        try:
            if isinstance(target, BaseException):
                raise target
            if not isinstance(target, PullingPlugin):
                raise TypeError(f"plugin {installation.plugin!r} declares pulls but has no pull()")
            inbound = Inbound(installation.tenant_id, installation.plugin, self.db)
            await asyncio.wait_for(target.pull(inbound), timeout)
        except TimeoutError:
            error = f"pull timed out after {timeout:g}s"
        except Exception as failure:  # a plugin's failure is data, never our crash
            error = "pull failed: " + _describe(failure)
        if error is None:
            self.breakers.record_success(breaker_key)
        else:
            self.breakers.record_failure(breaker_key)
        open_for = self.breakers.open_for(breaker_key)
        async with self.db.unit_of_work() as session:
            await deliveries.record_health(
                session,
                installation.tenant_id,
                subscriber,
                self._now,
                ok=error is None,
                latency_ms=_ms(started),
                error=error,
                circuit_open_until=self._now + timedelta(seconds=open_for) if open_for else None,
            )
        return True

    async def _fan_out(self, tenant_id: uuid.UUID | None) -> int:
        total = 0
        while True:
            async with self.db.unit_of_work() as session:
                events = await deliveries.unpublished_events(
                    session, self.settings.dispatch_batch_size, tenant_id
                )
                if not events:
                    return total
                tenants = sorted({e.tenant_id for e in events})
                subscribers: dict[uuid.UUID, list[tuple[str, Sequence[str]]]] = {}
                for installation in await storage.enabled_installations(session, tenants):
                    manifest = self.registry.get(installation.plugin)
                    if manifest is not None and installation.topics != tuple(manifest.topics):
                        await storage.remember_topics(
                            session, installation.tenant_id, manifest.name, manifest.topics
                        )
                    # A plugin missing from this platform (uninstalled, or failing to
                    # load) still gets its events, by the topics it last had: they wait,
                    # pending, until it is back or the tenant deletes the installation.
                    topics = manifest.topics if manifest is not None else installation.topics
                    if topics:
                        subscribers.setdefault(installation.tenant_id, []).append(
                            (storage.plugin_subscriber(installation.plugin), topics)
                        )
                for webhook in await storage.enabled_webhooks(session, tenants):
                    subscribers.setdefault(webhook.tenant_id, []).append(
                        (storage.webhook_subscriber(webhook.id), webhook.topics)
                    )
                total += await deliveries.fan_out(
                    session, events, subscribers, self._now, topic_matches
                )
                if len(events) < self.settings.dispatch_batch_size:
                    return total

    async def _deliver_due(self, tenant_id: uuid.UUID | None, *, wait: bool) -> DispatchReport:
        report = DispatchReport()
        await self._flush()  # outcomes of earlier calls first: they unblock successors
        async with self.db.unit_of_work() as session:
            claimed = await deliveries.claim_due(
                session,
                self._now,
                lease=timedelta(seconds=self.settings.dispatch_lease_seconds),
                batch=self.settings.dispatch_batch_size,
                per_tenant=self.settings.dispatch_tenant_batch_size,
                per_subscriber=self.settings.dispatch_subscriber_batch_size,
                tenant_id=tenant_id,
                skip=self.breakers.open_keys(),
                installed_plugins=self.registry.names(),
            )
        if not claimed:
            return report
        report.claimed = len(claimed)
        report.saturated = len(claimed) >= self.settings.dispatch_batch_size
        targets = await self._targets(claimed)
        cap = self.settings.dispatch_subscriber_batch_size
        started: list[asyncio.Task[None]] = []
        for item in claimed:
            key = (item.tenant_id, item.subscriber)
            if self._in_flight.get(key, 0) >= cap:
                # Still waiting on earlier calls to this subscriber: try again later.
                self._outcomes.append(_Outcome(item, "deferred", None, 0, report))
                continue
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            task = asyncio.create_task(self._deliver_one(item, targets, report))
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)
            started.append(task)
        if wait:
            await asyncio.gather(*started)
            await self._flush()
        return report

    async def _deliver_one(
        self,
        item: Claimed,
        targets: dict[tuple[uuid.UUID, str], object],
        report: DispatchReport,
    ) -> None:
        key = (item.tenant_id, item.subscriber)
        try:
            kind, error, latency_ms = await self._attempt(item, targets)
            self._outcomes.append(_Outcome(item, kind, error, latency_ms, report))
        finally:
            self._in_flight[key] -= 1
            if not self._in_flight[key]:
                del self._in_flight[key]

    async def _flush(self) -> None:
        """Write the buffered outcomes in one transaction. If that fails, their leases
        expire and the deliveries are sent again (at least once)."""
        if not self._outcomes:
            return
        batch, self._outcomes = self._outcomes, []
        try:
            async with self.db.unit_of_work() as session:
                await self._record(session, batch)
        except Exception:
            log.exception("recording %d delivery outcomes failed", len(batch))

    # Targets ------------------------------------------------------------------------------

    async def _targets(self, claimed: Sequence[Claimed]) -> dict[tuple[uuid.UUID, str], object]:
        """For each (tenant, subscriber) claimed: a plugin instance, a (url, secret) pair
        for a webhook, or the error that prevents building one."""
        tenants = sorted({c.tenant_id for c in claimed})
        wanted = {(c.tenant_id, c.subscriber) for c in claimed}
        targets: dict[tuple[uuid.UUID, str], object] = {}
        async with self.db.unit_of_work() as session:
            installations = await storage.enabled_installations(session, tenants)
            webhooks = await storage.enabled_webhooks(session, tenants)
        for installation in installations:
            key = (installation.tenant_id, storage.plugin_subscriber(installation.plugin))
            if key in wanted:
                targets[key] = await self._instance(installation)
        for webhook in webhooks:
            key = (webhook.tenant_id, storage.webhook_subscriber(webhook.id))
            if key in wanted:
                try:
                    targets[key] = (webhook.url, self.sealer.open(webhook.sealed_secret))
                except Exception as error:
                    targets[key] = error
        return targets

    async def _instance(self, installation: storage.Installation) -> object:
        key = (installation.tenant_id, installation.plugin)
        version = (installation.config_version, installation.updated_at)
        cached = self._instances.get(key)
        if cached is not None and cached.version == version:
            return cached.plugin
        if cached is not None:
            # The tenant changed its settings. Calls still in flight use the old
            # instance: close it once they have had their timeout.
            del self._instances[key]
            retired = asyncio.create_task(self._close_later(cached.plugin))
            self._calls.add(retired)
            retired.add_done_callback(self._calls.discard)
        manifest = self.registry.get(installation.plugin)
        if manifest is None:
            return LookupError(f"plugin {installation.plugin!r} is not installed")
        try:
            settings = storage.open_settings(manifest, installation, self.sealer)
            plugin = manifest.factory(
                PluginContext(
                    tenant_id=installation.tenant_id,
                    settings=settings,
                    call_timeout=self.settings.plugin_call_timeout_seconds,
                    inbound=Inbound(installation.tenant_id, installation.plugin, self.db),
                )
            )
        except Exception as error:
            return error
        self._instances[key] = _Instance(version, plugin)
        return plugin

    async def _close_later(self, plugin: Plugin) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(self.settings.plugin_call_timeout_seconds)
        await self._close_quietly(plugin)

    async def _close_quietly(self, plugin: Plugin) -> None:
        try:
            await asyncio.wait_for(plugin.aclose(), self.settings.plugin_call_timeout_seconds)
        except Exception:
            log.warning("plugin close failed", exc_info=True)

    # One delivery ---------------------------------------------------------------------------

    async def _attempt(
        self, item: Claimed, targets: dict[tuple[uuid.UUID, str], object]
    ) -> tuple[str, str | None, int]:
        """("delivered" | "failed" | "deferred", error, latency in ms)."""
        breaker_key = (item.tenant_id, item.subscriber)
        target = targets.get(breaker_key)
        if target is None:
            return "deferred", None, 0  # disabled meanwhile: keep it pending
        if not self.breakers.allow(breaker_key):
            return "deferred", None, 0
        if isinstance(target, BaseException):
            self.breakers.record_failure(breaker_key)
            return "failed", _describe(target), 0
        event = DeliveredEvent(
            id=item.event_id,
            tenant_id=item.tenant_id,
            topic=item.topic,
            aggregate_id=item.aggregate_id,
            occurred_at=item.occurred_at,
            payload=item.payload,
        )
        timeout = self.settings.plugin_call_timeout_seconds
        started = time.perf_counter()
        with tracing.delivery_span(
            item.topic, item.subscriber, item.tenant_id, item.event_id, item.trace_parent
        ) as span:
            try:
                if isinstance(target, tuple):
                    url, secret = target
                    if not self.settings.allow_private_webhooks:
                        await check_public(url)
                    await post_event(self._client(), url, secret, event, call_timeout=timeout)
                else:
                    assert isinstance(target, Plugin)
                    result = await asyncio.wait_for(
                        cast(Awaitable[object], target.handle_event(event)), timeout
                    )
                    if result is not None:
                        raise TypeError(f"handle_event returned {type(result).__name__}, not None")
            except TimeoutError:
                self.breakers.record_failure(breaker_key)
                tracing.record_failure(span, f"timed out after {timeout:g}s")
                return "failed", f"timed out after {timeout:g}s", _ms(started)
            except Exception as error:  # a plugin's failure is data, never our crash
                self.breakers.record_failure(breaker_key)
                tracing.record_failure(span, _describe(error))
                return "failed", _describe(error), _ms(started)
        self.breakers.record_success(breaker_key)
        return "delivered", None, _ms(started)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False)
        return self._http

    async def _record(self, session: AsyncSession, batch: Sequence[_Outcome]) -> None:
        now = self._now
        delivered: list[Claimed] = []
        health: dict[tuple[uuid.UUID, str], deliveries.HealthDelta] = {}
        for outcome in batch:
            item, report = outcome.item, outcome.report
            key = (item.tenant_id, item.subscriber)
            if outcome.kind == "deferred":
                report.deferred += 1
                wait = max(1.0, self.breakers.open_for(key))
                await deliveries.release(session, item, now, now + timedelta(seconds=wait))
                continue
            delta = health.setdefault(key, deliveries.HealthDelta(item.tenant_id, item.subscriber))
            if outcome.kind == "delivered":
                metrics.DELIVERY_ATTEMPTS.labels("delivered").inc()
                report.delivered += 1
                delivered.append(item)
                delta.add(True, outcome.latency_ms, None, now)
                continue
            report.failed += 1
            attempts = item.attempts + 1
            retry_at: datetime | None
            if attempts >= self.settings.dispatch_max_attempts:
                retry_at = None
                report.dead += 1
                metrics.DELIVERY_ATTEMPTS.labels("dead").inc()
            else:
                metrics.DELIVERY_ATTEMPTS.labels("failed").inc()
                delay = backoff_delay(
                    attempts,
                    self.settings.dispatch_backoff_base_seconds,
                    self.settings.dispatch_backoff_max_seconds,
                )
                retry_at = now + timedelta(seconds=delay)
            await deliveries.mark_failed(session, item, now, outcome.error or "failed", retry_at)
            delta.add(False, outcome.latency_ms, outcome.error, now)
        await deliveries.mark_delivered_many(session, delivered, now)
        for key, delta in health.items():
            open_for = self.breakers.open_for(key)
            delta.circuit_open_until = now + timedelta(seconds=open_for) if open_for else None
        await deliveries.record_health_many(session, list(health.values()))


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
