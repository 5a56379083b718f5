"""erp-rest end to end: orders out through the dispatcher, stock counts in by pull."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from centers.payment.events import PaymentRefunded
from centers.product import api as product_api
from centers.stock import api as stock_api
from centers.store import api as store_api
from kernel.app import Runtime
from kernel.dispatch import Dispatcher
from kernel.outbox import emit
from kernel.plugins import storage
from kernel.plugins.registry import PluginRegistry
from plugins.emulation import LoopbackServer
from plugins.erp.rest import MANIFEST
from plugins.erp.rest_emulator import ErpState, erp_emulator
from tests.builders import Shop, open_shop
from tests.centers.order.test_place_order import CANCEL, PLACE, order_input
from tests.conftest import TenantFixture, gql
from tests.kernel.dispatch.support import later, plugin_settings

CONFIGURE = """
mutation($settings: JSON!) {
  configurePlugin(input: {plugin: "erp-rest", settings: $settings}) { userErrors { code } }
  enablePlugin(input: {plugin: "erp-rest"}) { installation { enabled } userErrors { code } }
}
"""


@pytest.fixture
async def erp() -> AsyncIterator[tuple[LoopbackServer, ErpState]]:
    server, state = erp_emulator(api_key="erp-key")
    async with server:
        yield server, state


async def connect(client: httpx.AsyncClient, tenant: TenantFixture, url: str) -> None:
    token = await tenant.token("tenant_admin")
    body = await gql(
        client, token, CONFIGURE, {"settings": {"base_url": url, "api_key": "erp-key"}}
    )
    assert body["data"]["enablePlugin"]["installation"]["enabled"] is True


def dispatcher(runtime: Runtime) -> Dispatcher:
    return Dispatcher(runtime.db, registry=PluginRegistry([MANIFEST]), settings=plugin_settings())


async def test_placed_and_cancelled_orders_reach_the_erp(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    runtime: Runtime,
    erp: tuple[LoopbackServer, ErpState],
) -> None:
    server, state = erp
    await connect(client, tenant, server.url)
    shop = await open_shop(tenant)
    token = await tenant.token("tenant_admin")
    placed = await gql(client, token, PLACE, order_input(shop, [1, 2]))
    order_id = placed["data"]["placeOrder"]["order"]["id"]
    cancelled = await gql(
        client, token, CANCEL, {"input": {"orderId": order_id, "reason": "changed mind"}}
    )
    assert cancelled["data"]["cancelOrder"]["userErrors"] == []

    subject = dispatcher(runtime)
    await subject.run_once(tenant_id=tenant.id)
    await subject.aclose()
    assert state.orders[order_id]["payload"]["total_amount"] == shop.prices[0] + 2 * shop.prices[1]
    assert order_id in state.cancelled  # after the order itself: in order per aggregate
    assert state.duplicates == 0


async def _codes(runtime: Runtime, tenant: TenantFixture, shop: Shop) -> tuple[str, list[str]]:
    async with runtime.db.unit_of_work(tenant.id) as session:
        store = await store_api.get_store(session, tenant.id, shop.store_id)
        skus = await product_api.get_skus(session, tenant.id, shop.sku_ids)
    assert store is not None
    return store.code, [skus[i].code for i in shop.sku_ids]


async def _on_hand(runtime: Runtime, tenant: TenantFixture, shop: Shop, sku: uuid.UUID) -> int:
    async with runtime.db.unit_of_work(tenant.id) as session:
        levels = await stock_api.get_levels(session, tenant.id, [(shop.store_id, sku)])
    return levels[(shop.store_id, sku)].on_hand


async def test_stock_counts_apply_in_version_order_despite_duplicates_and_shuffles(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    runtime: Runtime,
    erp: tuple[LoopbackServer, ErpState],
) -> None:
    server, state = erp
    await connect(client, tenant, server.url)
    shop = await open_shop(tenant, stock=10)
    store_code, sku_codes = await _codes(runtime, tenant, shop)
    for on_hand in (50, 40, 45):
        state.set_stock(store_code, sku_codes[0], on_hand)
    state.set_stock(store_code, "NOT-OURS", 7)  # the ERP knows items we do not sell
    state.set_stock(store_code, sku_codes[1], 3)
    state.duplicate_feed = state.shuffle_feed = True

    subject = dispatcher(runtime)
    assert await subject.pull_once(tenant_id=tenant.id) == 1
    assert await _on_hand(runtime, tenant, shop, shop.sku_ids[0]) == 45
    assert await _on_hand(runtime, tenant, shop, shop.sku_ids[1]) == 3
    # Pulled again (the interval passed): the cursor says nothing is new.
    state.set_stock(store_code, sku_codes[0], 44)
    assert await subject.pull_once(later(31), tenant_id=tenant.id) == 1
    await subject.aclose()
    assert await _on_hand(runtime, tenant, shop, shop.sku_ids[0]) == 44
    async with runtime.db.unit_of_work(tenant.id) as session:
        cursor = await storage.sync_state(session, tenant.id, "erp-rest")
    assert cursor == {"stock": state.version}


async def test_malformed_stock_page_applies_nothing_and_the_admin_sees_why(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    runtime: Runtime,
    erp: tuple[LoopbackServer, ErpState],
) -> None:
    server, state = erp
    await connect(client, tenant, server.url)
    shop = await open_shop(tenant, stock=10)
    store_code, sku_codes = await _codes(runtime, tenant, shop)
    state.set_stock(store_code, sku_codes[0], 99)
    state.stock_feed.append(
        (state.version + 1, {"store_code": store_code, "sku_code": sku_codes[1]})
    )
    state.version += 1

    subject = dispatcher(runtime)
    await subject.pull_once(tenant_id=tenant.id)
    await subject.aclose()
    assert await _on_hand(runtime, tenant, shop, shop.sku_ids[0]) == 10  # nothing applied
    token = await tenant.token("tenant_admin")
    health = await gql(client, token, "{ pluginInstallations { health { status lastError } } }")
    (installation,) = health["data"]["pluginInstallations"]
    assert installation["health"] == {
        "status": "FAILING",
        "lastError": "pull failed: PluginError: malformed stock item #1 from the ERP",
    }


async def test_refund_reaches_the_erp_after_its_order(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    runtime: Runtime,
    erp: tuple[LoopbackServer, ErpState],
) -> None:
    server, state = erp
    await connect(client, tenant, server.url)
    shop = await open_shop(tenant)
    token = await tenant.token("tenant_admin")
    placed = await gql(client, token, PLACE, order_input(shop, [1]))
    order_id = uuid.UUID(placed["data"]["placeOrder"]["order"]["id"])
    refund = PaymentRefunded(
        refund_id=uuid.uuid4(),
        order_id=order_id,
        payment_id=uuid.uuid4(),
        tender="ONLINE",
        amount=shop.prices[0],
        currency="CNY",
        reason="damaged",
        status="SUCCEEDED",
    )
    async with runtime.db.unit_of_work(tenant.id) as session:
        await emit(session, tenant.id, refund)
    server.faults.fail_next(1, status=503)  # the order's first delivery fails…
    subject = dispatcher(runtime)
    await subject.run_once(tenant_id=tenant.id)
    assert state.refunds == {}  # …so its refund waits behind it
    await subject.run_once(later(5), tenant_id=tenant.id)
    await subject.aclose()
    (sent,) = state.refunds.values()
    assert sent["payload"]["amount"] == shop.prices[0] and str(order_id) in state.orders


async def test_products_and_prices_then_their_stock_sync_in_version_order(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    runtime: Runtime,
    erp: tuple[LoopbackServer, ErpState],
) -> None:
    server, state = erp
    await connect(client, tenant, server.url)
    shop = await open_shop(tenant, stock=0)
    store_code, _ = await _codes(runtime, tenant, shop)
    state.set_product("P-TEA", "Tea", [("TEA-S", "Small tea", 800), ("TEA-L", "Large tea", 1200)])
    state.set_product("P-TEA", "Milk tea", [("TEA-S", "Small tea", 900)])  # a price change
    state.set_stock(store_code, "TEA-S", 30)  # stock of a SKU created in the same pull
    state.duplicate_feed = state.shuffle_feed = True

    subject = dispatcher(runtime)
    await subject.pull_once(tenant_id=tenant.id)
    await subject.aclose()
    async with runtime.db.unit_of_work(tenant.id) as session:
        small = await product_api.sku_by_code(session, tenant.id, "TEA-S")
        large = await product_api.sku_by_code(session, tenant.id, "TEA-L")
        assert small is not None and large is not None
        products = await product_api.get_products(session, tenant.id, [small.product_id])
        levels = await stock_api.get_levels(session, tenant.id, [(shop.store_id, small.id)])
    assert small.price.amount == 900 and large.price.amount == 1200
    assert products[small.product_id].name == "Milk tea"
    assert levels[(shop.store_id, small.id)].on_hand == 30


async def test_erp_down_for_a_while_then_back_loses_no_order_and_books_none_twice(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    runtime: Runtime,
    erp: tuple[LoopbackServer, ErpState],
) -> None:
    server, state = erp
    await connect(client, tenant, server.url)
    shop = await open_shop(tenant)
    token = await tenant.token("tenant_admin")
    await server.stop()  # the ERP goes down; orders keep coming
    placed = []
    for _ in range(6):
        body = await gql(client, token, PLACE, order_input(shop, [1]))
        placed.append(body["data"]["placeOrder"]["order"]["id"])
    for order_id in placed[:2]:
        await gql(client, token, CANCEL, {"input": {"orderId": order_id, "reason": "late"}})
    subject = Dispatcher(
        runtime.db,
        registry=PluginRegistry([MANIFEST]),
        settings=plugin_settings(dispatch_max_attempts=50),
    )
    clock = later(0)
    for _ in range(5):
        await subject.run_once(clock, tenant_id=tenant.id)
        clock = later(90, clock)
    assert state.orders == {}

    await server.start()  # back, dropping a few answers after booking (duplicates)
    server.faults.lose_ack_next(3)
    for _ in range(20):
        await subject.run_once(clock, tenant_id=tenant.id)
        clock = later(90, clock)
    await subject.aclose()
    assert set(state.orders) == set(placed)  # none lost, each booked once
    assert state.cancelled == set(placed[:2])  # and cancelled after it was booked
    assert state.duplicates >= 3  # the ERP saw the retries and deduped them
