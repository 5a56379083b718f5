"""Every query of the store center; tenant scoping lives here and only here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.store.dto import StoreInfo, TenantInfo
from centers.store.models import Store, Tenant
from kernel.batch import Batch, Column
from kernel.db import table_of
from kernel.graphql.pagination import PageRequest

tenant = table_of(Tenant)
store = table_of(Store)

_store_columns = (store.c.id, store.c.tenant_id, store.c.code, store.c.name, store.c.timezone)
# Hot lookups are built once (a statement built per call costs more CPU than its round
# trip); ``= ANY(array)`` keeps one prepared statement whatever the number of ids.
_STORES_BY_IDS = sa.select(*_store_columns).where(
    store.c.tenant_id == sa.bindparam("tenant_id"),
    store.c.id == sa.any_(sa.bindparam("ids", type_=ARRAY(sa.Uuid))),
)


async def insert_tenant(session: AsyncSession, value: TenantInfo, created_at: datetime) -> bool:
    """Insert unless the slug is taken; returns whether a row was written."""
    written = await session.scalar(
        insert(tenant)
        .values(
            tenant_id=value.id,
            slug=value.slug,
            name=value.name,
            currency=value.currency,
            created_at=created_at,
        )
        .on_conflict_do_nothing()
        .returning(tenant.c.tenant_id)
    )
    return written is not None


async def tenant_by_slug(session: AsyncSession, slug: str) -> TenantInfo | None:
    # The one lookup across tenants: resolving a slug is how a tenant is found.
    row = (
        await session.execute(
            sa.select(tenant.c.tenant_id, tenant.c.slug, tenant.c.name, tenant.c.currency).where(
                tenant.c.slug == slug
            )
        )
    ).first()
    return TenantInfo(*row) if row else None


async def tenant_by_id(session: AsyncSession, tenant_id: uuid.UUID) -> TenantInfo | None:
    row = (
        await session.execute(
            sa.select(tenant.c.tenant_id, tenant.c.slug, tenant.c.name, tenant.c.currency).where(
                tenant.c.tenant_id == tenant_id
            )
        )
    ).first()
    return TenantInfo(*row) if row else None


async def list_tenants(
    session: AsyncSession, *, limit: int, after_slug: str | None
) -> list[TenantInfo]:
    """Tenants by slug (the platform directory; RLS shows all only in the platform scope)."""
    query = sa.select(tenant.c.tenant_id, tenant.c.slug, tenant.c.name, tenant.c.currency)
    if after_slug is not None:
        query = query.where(tenant.c.slug > after_slug)
    rows = await session.execute(query.order_by(tenant.c.slug).limit(limit))
    return [TenantInfo(*row) for row in rows.all()]


async def insert_store(session: AsyncSession, value: StoreInfo, created_at: datetime) -> bool:
    written = await session.scalar(
        insert(store)
        .values(
            tenant_id=value.tenant_id,
            id=value.id,
            code=value.code,
            name=value.name,
            timezone=value.timezone,
            created_at=created_at,
        )
        .on_conflict_do_nothing()
        .returning(store.c.id)
    )
    return written is not None


async def store_by_code(session: AsyncSession, tenant_id: uuid.UUID, code: str) -> StoreInfo | None:
    row = (
        await session.execute(
            sa.select(*_store_columns).where(store.c.tenant_id == tenant_id, store.c.code == code)
        )
    ).first()
    return StoreInfo(*row) if row else None


_EXISTS = "SELECT EXISTS (SELECT 1 FROM store.store WHERE tenant_id = {} AND id = {})"


def store_exists_in(batch: Batch, tenant_id: uuid.UUID, store_id: uuid.UUID) -> Column[bool]:
    """Whether the tenant has the store, as a column of ``batch``."""
    return batch.column(
        batch.fresh("store_exists"),
        _EXISTS.format(batch.arg(tenant_id, "uuid"), batch.arg(store_id, "uuid")),
        bool,
    )


async def stores_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[StoreInfo]:
    if not ids:
        return []
    rows = await session.execute(_STORES_BY_IDS, {"tenant_id": tenant_id, "ids": list(ids)})
    return [StoreInfo(*row) for row in rows.all()]


async def list_stores(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageRequest
) -> list[StoreInfo]:
    query = sa.select(*_store_columns).where(store.c.tenant_id == tenant_id)
    after = page.after_id()
    if after is not None:
        query = query.where(store.c.id > after)
    rows = await session.execute(query.order_by(store.c.id).limit(page.limit))
    return [StoreInfo(*row) for row in rows.all()]


async def update_store(
    session: AsyncSession, tenant_id: uuid.UUID, store_id: uuid.UUID, *, name: str, timezone: str
) -> StoreInfo | None:
    row = (
        await session.execute(
            store.update()
            .where(store.c.tenant_id == tenant_id, store.c.id == store_id)
            .values(name=name, timezone=timezone)
            .returning(*_store_columns)
        )
    ).first()
    return StoreInfo(*row) if row else None
