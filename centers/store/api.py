"""The store center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from centers.store import repository, service
from centers.store.dto import StoreInfo, TenantInfo
from kernel.batch import Batch, Column

__all__ = [
    "StoreInfo",
    "TenantInfo",
    "create_store",
    "create_tenant",
    "get_store",
    "get_stores",
    "get_tenant",
    "list_tenants",
    "store_by_code",
    "store_exists_in",
    "tenant_by_slug",
    "update_store",
]


async def create_tenant(
    session: AsyncSession, *, slug: str, name: str, currency: str = "CNY"
) -> TenantInfo:
    """Create a brand; raises ``UserInputError`` (``SLUG_TAKEN``, ``INVALID_SLUG``…)."""
    return await service.create_tenant(session, slug=slug, name=name, currency=currency)


async def tenant_by_slug(session: AsyncSession, slug: str) -> TenantInfo | None:
    """Find a tenant by its slug (platform-level lookup)."""
    return await repository.tenant_by_slug(session, slug)


async def get_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> TenantInfo | None:
    """The tenant itself (its currency is the default for prices and orders)."""
    return await repository.tenant_by_id(session, tenant_id)


async def list_tenants(
    session: AsyncSession, *, limit: int, after_slug: str | None = None
) -> list[TenantInfo]:
    """Tenants ordered by slug, after ``after_slug``; at most ``limit`` (platform-level:
    the session must be in the platform scope, ``kernel.db.bind_platform``)."""
    return await repository.list_tenants(session, limit=limit, after_slug=after_slug)


async def create_store(
    session: AsyncSession, tenant_id: uuid.UUID, *, code: str, name: str, timezone: str
) -> StoreInfo:
    """Create a store in a tenant; raises ``UserInputError`` (``CODE_TAKEN``…)."""
    return await service.create_store(session, tenant_id, code=code, name=name, timezone=timezone)


async def store_by_code(session: AsyncSession, tenant_id: uuid.UUID, code: str) -> StoreInfo | None:
    """The tenant's store with this code, if any."""
    return await repository.store_by_code(session, tenant_id, code)


async def get_stores(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, StoreInfo]:
    """The tenant's stores among ``ids``; ids of other tenants are simply absent."""
    return {s.id: s for s in await repository.stores_by_ids(session, tenant_id, ids)}


def store_exists_sql(tenant_id: str, store_id: str) -> str:
    """An SQL condition: ``store_id`` is one of ``tenant_id``'s stores (both SQL
    expressions), for other centers' compiled reads (``kernel.graphql.plans``)."""
    table = '"store".store'
    return f"EXISTS (SELECT 1 FROM {table} s WHERE s.tenant_id = {tenant_id} AND s.id = {store_id})"  # noqa: S608 (expressions, not input)


def store_exists_in(batch: Batch, tenant_id: uuid.UUID, store_id: uuid.UUID) -> Column[bool]:
    """Whether ``store_id`` is one of the tenant's stores, read as a column of ``batch``
    (``kernel.batch``: one round trip with the caller's other reads)."""
    return repository.store_exists_in(batch, tenant_id, store_id)


async def get_store(
    session: AsyncSession, tenant_id: uuid.UUID, store_id: uuid.UUID
) -> StoreInfo | None:
    """One store of the tenant, or ``None`` (also for another tenant's store)."""
    return (await get_stores(session, tenant_id, [store_id])).get(store_id)


async def update_store(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    *,
    name: str | None = None,
    timezone: str | None = None,
) -> StoreInfo:
    """Rename a store or change its time zone; emits ``store.store_changed``. Raises
    ``UserInputError`` (``STORE_NOT_FOUND``, ``INVALID_NAME``, ``INVALID_TIMEZONE``)."""
    return await service.update_store(session, tenant_id, store_id, name=name, timezone=timezone)
