"""A hanging plugin never holds up order placement: orders are placed and committed
while the dispatcher is still waiting on the plugin."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid

import httpx

from kernel.db import Database
from kernel.dispatch import Dispatcher
from kernel.plugins.registry import PluginRegistry
from tests.builders import open_shop
from tests.centers.order.test_place_order import PLACE, order_input
from tests.conftest import TenantFixture, gql
from tests.kernel.dispatch.support import (
    SCRIPTED,
    SCRIPTS,
    emit_changes,
    enable,
    plugin_settings,
)


async def test_orders_are_placed_while_a_plugin_hangs_on_earlier_ones(
    client: httpx.AsyncClient, db: Database, tenant: TenantFixture
) -> None:
    hanging = dataclasses.replace(SCRIPTED, topics=("order.placed",))
    await enable(db, tenant.id, hanging)
    SCRIPTS[tenant.id].mode = "hang"
    shop = await open_shop(tenant)
    token = await tenant.token("tenant_admin")
    first = await gql(client, token, PLACE, order_input(shop, [1]))
    assert first["data"]["placeOrder"]["userErrors"] == []

    subject = Dispatcher(
        db,
        registry=PluginRegistry([hanging]),
        settings=plugin_settings(plugin_call_timeout_seconds=4),
    )
    delivering = asyncio.create_task(subject.run_once(tenant_id=tenant.id, max_rounds=1))
    await asyncio.sleep(0.2)  # the plugin call is in flight and hangs

    placed = [await gql(client, token, PLACE, order_input(shop, [1])) for _ in range(5)]
    assert all(p["data"]["placeOrder"]["userErrors"] == [] for p in placed)
    assert not delivering.done()  # the orders did not wait for the plugin
    report = await delivering
    await subject.aclose()
    assert report.failed >= 1 and SCRIPTS[tenant.id].received == []


async def test_background_dispatcher_serves_a_tenant_while_another_tenants_plugin_hangs(
    db: Database, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    await enable(db, tenant.id)
    await enable(db, other_tenant.id)
    SCRIPTS[tenant.id].mode = "hang"
    subject = Dispatcher(
        db,
        registry=PluginRegistry([SCRIPTED]),
        settings=plugin_settings(plugin_call_timeout_seconds=2, dispatch_interval_seconds=0.05),
    )
    subject.start()
    try:
        await emit_changes(db, tenant.id, uuid.uuid4(), [1])
        await asyncio.sleep(0.3)  # the hanging call is in flight
        started = time.perf_counter()
        await emit_changes(db, other_tenant.id, uuid.uuid4(), [1])
        for _ in range(250):  # up to 5 s
            if SCRIPTS[other_tenant.id].received:
                break
            await asyncio.sleep(0.02)
        served_in = time.perf_counter() - started
        assert SCRIPTS[other_tenant.id].received, "the other tenant was never served"
        assert served_in < 1.5  # well before the hanging call's 2 s timeout
    finally:
        await subject.stop()
    assert SCRIPTS[tenant.id].received == []
