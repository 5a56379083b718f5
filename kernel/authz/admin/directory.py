"""What access administration needs from the tenant directory (the store center owns it).

The kernel imports no center: the composition root passes an implementation built
from ``centers.store.api`` (see ``schema/subgraphs.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class TenantRecord(Protocol):
    @property
    def id(self) -> uuid.UUID: ...

    @property
    def slug(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def currency(self) -> str: ...


class TenantDirectory(Protocol):
    async def create_tenant(
        self, session: AsyncSession, *, slug: str, name: str, currency: str
    ) -> TenantRecord:
        """Create a tenant; raises ``UserInputError`` for a bad or taken slug."""
        ...

    async def list_tenants(
        self, session: AsyncSession, *, limit: int, after_slug: str | None
    ) -> Sequence[TenantRecord]:
        """Tenants ordered by slug, after ``after_slug``."""
        ...

    async def get_store(
        self, session: AsyncSession, tenant_id: uuid.UUID, store_id: uuid.UUID
    ) -> object | None:
        """The tenant's store ``store_id``, or ``None`` (also for another tenant's)."""
        ...
