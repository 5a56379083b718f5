"""One tenant's backlog does not starve another tenant's deliveries."""

from __future__ import annotations

import uuid
from datetime import timedelta

from kernel.db import Database
from kernel.dispatch import Dispatcher
from kernel.dispatch.deliveries import claim_due
from tests.conftest import TenantFixture
from tests.kernel.dispatch.support import emit_changes, enable, later, plugin_settings, registry


async def test_a_pass_claims_at_most_the_tenant_share_and_reaches_every_tenant(
    db: Database, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    await enable(db, tenant.id)
    await enable(db, other_tenant.id)
    for _ in range(12):  # a backlog of independent aggregates
        await emit_changes(db, tenant.id, uuid.uuid4(), [1])
    await emit_changes(db, other_tenant.id, uuid.uuid4(), [1])
    fan_out = Dispatcher(db, registry=registry(), settings=plugin_settings())
    for who in (tenant.id, other_tenant.id):
        await fan_out._fan_out(who)  # deliveries exist, nothing delivered yet
    await fan_out.aclose()

    async with db.unit_of_work() as session:
        claimed = await claim_due(
            session,
            later(1),
            lease=timedelta(seconds=60),
            batch=1000,
            per_tenant=5,
            installed_plugins=["scripted"],
        )
    ours = [c for c in claimed if c.tenant_id == tenant.id]
    theirs = [c for c in claimed if c.tenant_id == other_tenant.id]
    assert len(ours) == 5 and len(theirs) == 1


async def test_a_pass_holds_at_most_the_subscriber_share_of_calls(
    db: Database, tenant: TenantFixture
) -> None:
    await enable(db, tenant.id)
    for _ in range(6):
        await emit_changes(db, tenant.id, uuid.uuid4(), [1])
    fan_out = Dispatcher(db, registry=registry(), settings=plugin_settings())
    await fan_out._fan_out(tenant.id)
    await fan_out.aclose()
    async with db.unit_of_work() as session:
        claimed = await claim_due(
            session,
            later(1),
            lease=timedelta(seconds=60),
            batch=1000,
            per_tenant=50,
            installed_plugins=["scripted"],
            per_subscriber=4,
            tenant_id=tenant.id,
        )
    assert len(claimed) == 4
