"""A hanging plugin never holds up order placement: orders are placed and committed
while the dispatcher is still waiting on the plugin."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx

from kernel.db import Database
from kernel.dispatch import Dispatcher
from kernel.plugins.registry import PluginRegistry
from tests.builders import open_shop
from tests.centers.order.test_place_order import PLACE, order_input
from tests.conftest import TenantFixture, gql
from tests.kernel.dispatch.support import SCRIPTED, SCRIPTS, enable, plugin_settings


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
