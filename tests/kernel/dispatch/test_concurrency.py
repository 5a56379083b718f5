"""Several dispatchers (processes) at once: every event is delivered exactly once to a
subscriber that answers, and in order per aggregate."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from kernel.db import Database
from kernel.dispatch import Dispatcher
from tests.conftest import TenantFixture
from tests.kernel.dispatch.support import SCRIPTS, emit_changes, enable, plugin_settings, registry


async def test_concurrent_dispatchers_deliver_each_event_once_and_in_order(
    db: Database, tenant: TenantFixture
) -> None:
    await enable(db, tenant.id)
    things = [uuid.uuid4() for _ in range(4)]
    await asyncio.gather(*(emit_changes(db, tenant.id, t, range(8)) for t in things))
    dispatchers = [
        Dispatcher(db, registry=registry(), settings=plugin_settings(dispatch_batch_size=5))
        for _ in range(3)
    ]
    for _ in range(4):
        await asyncio.gather(*(d.run_once(tenant_id=tenant.id) for d in dispatchers))
    for dispatcher in dispatchers:
        await dispatcher.aclose()

    received = SCRIPTS[tenant.id].received
    assert len(received) == 32
    assert max(Counter(e.id for e in received).values()) == 1
    for thing in things:
        assert [e.payload["seq"] for e in received if e.aggregate_id == thing] == list(range(8))
