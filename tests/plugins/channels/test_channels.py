"""channel-takeout end to end: orders pulled in once and in order despite duplicated and
shuffled pages, refused ones rejected at the platform, statuses synced back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa

from centers.order import api as order_api
from centers.product import api as product_api
from centers.store import api as store_api
from kernel.app import Runtime
from kernel.dispatch import Dispatcher
from kernel.plugins.registry import PluginRegistry
from plugins.channels.emulator import PlatformState, platform_emulator
from plugins.channels.plugin import MANIFEST
from plugins.emulation import LoopbackServer
from tests.builders import Shop, open_shop
from tests.conftest import TenantFixture, gql
from tests.kernel.dispatch.support import later, plugin_settings

CONFIGURE = """
mutation($settings: JSON!) {
  configurePlugin(input: {plugin: "channel-takeout", settings: $settings}) { userErrors { code } }
  enablePlugin(input: {plugin: "channel-takeout"}) { installation { enabled } userErrors { code } }
}
"""


@pytest.fixture
async def platform(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> AsyncIterator[tuple[LoopbackServer, PlatformState]]:
    server, state = platform_emulator()
    async with server:
        token = await tenant.token("tenant_admin")
        settings = {"base_url": server.url, "app_id": "zt-app", "app_secret": "platform-secret"}
        body = await gql(client, token, CONFIGURE, {"settings": settings})
        assert body["data"]["enablePlugin"]["installation"]["enabled"] is True
        yield server, state


async def codes(runtime: Runtime, tenant: TenantFixture, shop: Shop) -> tuple[str, list[str]]:
    async with runtime.db.unit_of_work(tenant.id) as session:
        store = await store_api.get_store(session, tenant.id, shop.store_id)
        skus = await product_api.get_skus(session, tenant.id, shop.sku_ids)
    assert store is not None
    return store.code, [skus[i].code for i in shop.sku_ids]


async def channel_orders(runtime: Runtime, tenant: TenantFixture) -> dict[str, str]:
    """external id -> status of the tenant's MEITUAN orders."""
    async with runtime.db.unit_of_work(tenant.id) as session:
        rows = await session.execute(
            sa.text(
                'SELECT external_id, status FROM "order".trade_order '
                "WHERE tenant_id = :t AND channel = 'MEITUAN'"
            ),
            {"t": tenant.id},
        )
        return {external: status for external, status in rows.all()}


def dispatcher(runtime: Runtime) -> Dispatcher:
    return Dispatcher(runtime.db, registry=PluginRegistry([MANIFEST]), settings=plugin_settings())


async def test_orders_are_imported_once_in_sequence_order(
    runtime: Runtime,
    tenant: TenantFixture,
    platform: tuple[LoopbackServer, PlatformState],
) -> None:
    _, state = platform
    shop = await open_shop(tenant, stock=5)
    store_code, skus = await codes(runtime, tenant, shop)
    first = state.new_order(store_code, [(skus[0], 2)])
    second = state.new_order(store_code, [(skus[1], 1), (skus[2], 1)])
    state.duplicate_pages = state.shuffle_pages = True

    subject = dispatcher(runtime)
    assert await subject.pull_once(tenant_id=tenant.id) == 1
    third = state.new_order(store_code, [(skus[0], 1)])
    await subject.pull_once(later(11), tenant_id=tenant.id)
    await subject.pull_once(later(22), tenant_id=tenant.id)  # nothing new: nothing twice
    await subject.aclose()
    imported = await channel_orders(runtime, tenant)
    assert set(imported) == {first, second, third}
    assert set(imported.values()) == {"PAID"}  # the platform collected the money
    assert state.rejected == {} and state.bad_signatures == 0


async def test_order_we_cannot_take_is_rejected_at_the_platform(
    runtime: Runtime,
    tenant: TenantFixture,
    platform: tuple[LoopbackServer, PlatformState],
) -> None:
    _, state = platform
    shop = await open_shop(tenant, stock=1)
    store_code, skus = await codes(runtime, tenant, shop)
    too_many = state.new_order(store_code, [(skus[0], 5)])
    unknown = state.new_order(store_code, [("NO-SUCH-SKU", 1)])
    fine = state.new_order(store_code, [(skus[1], 1)])
    subject = dispatcher(runtime)
    await subject.pull_once(tenant_id=tenant.id)
    await subject.aclose()
    assert set(await channel_orders(runtime, tenant)) == {fine}
    assert state.rejected[too_many].startswith("OUT_OF_STOCK")
    assert state.rejected[unknown] == "unknown item NO-SUCH-SKU"


async def test_status_changes_of_channel_orders_sync_back_once(
    runtime: Runtime,
    tenant: TenantFixture,
    platform: tuple[LoopbackServer, PlatformState],
) -> None:
    _, state = platform
    shop = await open_shop(tenant)
    store_code, skus = await codes(runtime, tenant, shop)
    external = state.new_order(store_code, [(skus[0], 1)])
    subject = dispatcher(runtime)
    await subject.pull_once(tenant_id=tenant.id)
    async with runtime.db.unit_of_work(tenant.id) as session:
        orders = await channel_orders(runtime, tenant)
        assert orders[external] == "PAID"
        order_id = await session.scalar(
            sa.text('SELECT id FROM "order".trade_order WHERE tenant_id = :t AND external_id = :e'),
            {"t": tenant.id, "e": external},
        )
        for event in ("ACCEPT", "MARK_READY"):
            await order_api.apply_event(
                session, tenant.id, order_id, event, "user:staff", "kitchen", f"k-{event}"
            )
    await subject.run_once(tenant_id=tenant.id)
    await subject.run_once(later(5), tenant_id=tenant.id)
    await subject.aclose()
    assert state.statuses == {external: ["confirmed", "ready"]}


async def test_orders_of_other_channels_never_reach_the_platform(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantFixture,
    platform: tuple[LoopbackServer, PlatformState],
) -> None:
    from tests.centers.order.test_place_order import CANCEL, PLACE, order_input

    _, state = platform
    shop = await open_shop(tenant)
    token = await tenant.token("tenant_admin")
    placed = await gql(client, token, PLACE, order_input(shop, [1]))
    order_id = placed["data"]["placeOrder"]["order"]["id"]
    await gql(client, token, CANCEL, {"input": {"orderId": order_id, "reason": "test"}})
    subject = dispatcher(runtime)
    report = await subject.run_once(tenant_id=tenant.id)
    await subject.aclose()
    assert report.delivered >= 1  # the status change was delivered to the plugin…
    assert state.statuses == {} and state.seen_events == set()  # …which kept it home
