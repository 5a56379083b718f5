"""erp-odoo end to end: orders become Odoo sale orders over JSON-RPC (once, with their
products), cancellations cancel them, stock quants come back as on-hand counts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from centers.product import api as product_api
from centers.stock import api as stock_api
from centers.store import api as store_api
from kernel.app import Runtime
from kernel.dispatch import Dispatcher
from kernel.plugins.registry import PluginRegistry
from plugins.emulation import LoopbackServer
from plugins.erp.odoo import MANIFEST
from plugins.erp.odoo_emulator import OdooState, odoo_emulator
from tests.builders import Shop, open_shop
from tests.centers.order.test_place_order import CANCEL, PLACE, order_input
from tests.conftest import TenantFixture, gql
from tests.kernel.dispatch.support import later, plugin_settings

CONFIGURE = """
mutation($settings: JSON!) {
  configurePlugin(input: {plugin: "erp-odoo", settings: $settings}) { userErrors { code } }
  enablePlugin(input: {plugin: "erp-odoo"}) { installation { enabled } userErrors { code } }
}
"""
CHECK = 'mutation { checkPlugin(input: {plugin: "erp-odoo"}) { ok error } }'


@pytest.fixture
async def odoo() -> AsyncIterator[tuple[LoopbackServer, OdooState]]:
    server, state = odoo_emulator()
    async with server:
        yield server, state


def settings(url: str, api_key: str = "odoo-key") -> dict[str, object]:
    return {
        "base_url": url,
        "database": "brand",
        "login": "zhongtai",
        "api_key": api_key,
        "partner_id": 7,
    }


async def connect(client: httpx.AsyncClient, tenant: TenantFixture, url: str) -> str:
    token = await tenant.token("tenant_admin")
    body = await gql(client, token, CONFIGURE, {"settings": settings(url)})
    assert body["data"]["enablePlugin"]["installation"]["enabled"] is True
    return token


async def codes(runtime: Runtime, tenant: TenantFixture, shop: Shop) -> tuple[str, list[str]]:
    async with runtime.db.unit_of_work(tenant.id) as session:
        store = await store_api.get_store(session, tenant.id, shop.store_id)
        skus = await product_api.get_skus(session, tenant.id, shop.sku_ids)
    assert store is not None
    return store.code, [skus[i].code for i in shop.sku_ids]


def dispatcher(runtime: Runtime) -> Dispatcher:
    return Dispatcher(runtime.db, registry=PluginRegistry([MANIFEST]), settings=plugin_settings())


async def test_order_becomes_one_sale_order_and_its_cancel_cancels_it(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantFixture,
    odoo: tuple[LoopbackServer, OdooState],
) -> None:
    server, state = odoo
    token = await connect(client, tenant, server.url)
    shop = await open_shop(tenant)
    _, sku_codes = await codes(runtime, tenant, shop)
    product = state.add_product(sku_codes[0])  # Odoo knows the first SKU by its code
    placed = await gql(client, token, PLACE, order_input(shop, [2, 1]))
    order_id = placed["data"]["placeOrder"]["order"]["id"]
    server.faults.lose_ack_next(1)  # Odoo books it but the answer is lost: redelivered
    subject = dispatcher(runtime)
    await subject.run_once(tenant_id=tenant.id)
    await subject.run_once(later(5), tenant_id=tenant.id)
    (sale,) = state.sale_orders()
    assert sale["client_order_ref"] == order_id and sale["partner_id"] == 7
    assert [line["product_uom_qty"] for line in sale["order_line"]] == [2, 1]
    assert sale["order_line"][0]["product_id"] == product
    assert "product_id" not in sale["order_line"][1]
    assert sale["order_line"][0]["price_unit"] == shop.prices[0] / 100

    await gql(client, token, CANCEL, {"input": {"orderId": order_id, "reason": "test"}})
    await subject.run_once(later(10), tenant_id=tenant.id)
    await subject.aclose()
    assert state.sale_orders()[0]["state"] == "cancel"


async def test_stock_quants_sync_as_on_hand_counts(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantFixture,
    odoo: tuple[LoopbackServer, OdooState],
) -> None:
    server, state = odoo
    await connect(client, tenant, server.url)
    shop = await open_shop(tenant, stock=10)
    store_code, sku_codes = await codes(runtime, tenant, shop)
    location = state.add_location(store_code)
    first, second = state.add_product(sku_codes[0]), state.add_product(sku_codes[1])
    state.set_quant(first, location, 42)
    state.set_quant(second, location, 7.0)
    state.set_quant(state.add_product("NOT-OURS"), location, 3)
    subject = dispatcher(runtime)
    await subject.pull_once(tenant_id=tenant.id)
    state.set_quant(first, location, 40)
    await subject.pull_once(later(61), tenant_id=tenant.id)
    await subject.pull_once(later(122), tenant_id=tenant.id)  # nothing new: no change
    await subject.aclose()
    async with runtime.db.unit_of_work(tenant.id) as session:
        levels = await stock_api.get_levels(
            session, tenant.id, [(shop.store_id, s) for s in shop.sku_ids[:2]]
        )
    assert [levels[(shop.store_id, s)].on_hand for s in shop.sku_ids[:2]] == [40, 7]


async def test_wrong_api_key_shows_in_the_health_check(
    client: httpx.AsyncClient, tenant: TenantFixture, odoo: tuple[LoopbackServer, OdooState]
) -> None:
    server, _ = odoo
    token = await tenant.token("tenant_admin")
    await gql(client, token, CONFIGURE, {"settings": settings(server.url, api_key="stale")})
    body = await gql(client, token, CHECK)
    assert body["data"]["checkPlugin"] == {
        "ok": False,
        "error": "PluginError: Odoo refused the login or API key",
    }
