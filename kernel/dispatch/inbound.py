"""Inbound sync: the dispatcher calls each enabled plugin's optional ``pull`` hook every
``manifest.pull_interval_seconds`` (ERP stock and products, channel orders, CRM
members), under a timeout and the same circuit breaker and health as its deliveries.

A plugin reads a page from its backend outside any transaction, then applies it through
the centers' ``api`` and saves its cursor in ONE tenant-bound transaction
(``Inbound.transaction``), so a page is applied once, and a crash before commit simply
pulls it again. Ordering and idempotency come from source versions (the centers ignore a
version not newer than the last applied) and external ids.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kernel.db import Database
from kernel.plugins import storage


@dataclass(frozen=True)
class Inbound:
    """What a plugin's ``pull`` hook gets: its tenant, transactions bound to that tenant
    (Row-Level Security applies), and its stored cursors."""

    tenant_id: uuid.UUID
    plugin: str
    db: Database

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work for the tenant: commits on success, rolls back on error."""
        async with self.db.unit_of_work(self.tenant_id) as session:
            yield session

    async def cursor(self, session: AsyncSession) -> dict[str, Any]:
        """The cursors saved by the last successful pull (``{}`` at first)."""
        return await storage.sync_state(session, self.tenant_id, self.plugin)

    async def save_cursor(self, session: AsyncSession, state: Mapping[str, Any]) -> None:
        """Save cursors in the same transaction as the changes they cover."""
        await storage.save_sync_state(session, self.tenant_id, self.plugin, state)
