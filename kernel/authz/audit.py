"""The audit log: every denied decision and every access change, with its evidence.

Admin changes are written in the transaction that makes them (a change and its audit
row commit together or not at all). Denials happen on the request path, whose
transaction rolls back on error, so they are queued in memory and written in batches
by a background task (one multi-row insert per tenant per flush): the request pays for
appending to a list, never for a database round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.db import Database, bind_tenant
from kernel.ids import new_id

log = logging.getLogger("zhongtai.audit")

metadata = sa.MetaData(schema="kernel")

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("object", sa.String(200), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("result", sa.String(10), nullable=False),
    sa.Column("matched_rule", sa.String(500), nullable=False),
    sa.Column("policy_version", sa.BigInteger, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)

DENIED = "denied"
CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    tenant_id: uuid.UUID
    request_id: str
    subject: str
    object: str
    action: str
    result: str
    matched_rule: str
    policy_version: int
    detail: Mapping[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def row(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "id": new_id(),
            "at": self.at,
            "request_id": self.request_id[:64],
            "subject": self.subject[:200],
            "object": self.object[:200],
            "action": self.action[:64],
            "result": self.result,
            "matched_rule": self.matched_rule[:500],
            "policy_version": self.policy_version,
            "detail": dict(self.detail),
        }


async def record_change(session: AsyncSession, entry: AuditEntry) -> None:
    """Write an admin change's audit row in the caller's transaction."""
    await session.execute(sa.insert(audit_log), [entry.row()])


class AuditWriter:
    """Queues denials and writes them in batches off the request path."""

    def __init__(self, db: Database, *, flush_seconds: float = 0.2, max_queue: int = 50_000):
        self._db = db
        self._flush_seconds = flush_seconds
        self._max_queue = max_queue
        self._pending: list[AuditEntry] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.dropped = 0

    def record(self, entries: Sequence[AuditEntry]) -> None:
        if len(self._pending) + len(entries) > self._max_queue:
            # Under a flood of denials, keep serving; count what could not be kept.
            self.dropped += len(entries)
            log.warning("audit queue full; %d denials not recorded", len(entries))
            return
        self._pending.extend(entries)
        if len(self._pending) >= 500:
            self._wake.set()

    async def flush(self) -> int:
        """Write everything queued so far; returns how many rows were written."""
        async with self._lock:
            batch, self._pending = self._pending, []
            if not batch:
                return 0
            by_tenant: dict[uuid.UUID, list[dict[str, Any]]] = {}
            for entry in batch:
                by_tenant.setdefault(entry.tenant_id, []).append(entry.row())
            try:
                async with self._db.unit_of_work() as session:
                    for tenant_id, rows in by_tenant.items():
                        await bind_tenant(session, tenant_id)  # written behind RLS too
                        await session.execute(sa.insert(audit_log), rows)
            except Exception:
                log.exception("writing %d audit rows failed; keeping them", len(batch))
                self._pending[:0] = batch
                raise
            return len(batch)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_seconds)
            self._wake.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(1.0)  # the database is away; the rows are kept


async def list_entries(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None = None,
    result: str | None = None,
    subject: str | None = None,
) -> list[dict[str, Any]]:
    """The tenant's newest audit rows first (keyset pagination on (at, id))."""
    query = sa.select(audit_log).where(audit_log.c.tenant_id == tenant_id)
    if result is not None:
        query = query.where(audit_log.c.result == result)
    if subject is not None:
        query = query.where(audit_log.c.subject == subject)
    if before is not None:
        query = query.where(sa.tuple_(audit_log.c.at, audit_log.c.id) < sa.tuple_(*before))
    query = query.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    return [dict(row._mapping) for row in (await session.execute(query)).all()]
