"""The split rule (拆单): lines the ordering store cannot supply ship from the best
warehouse that can; each location's lines form a sub-order with its own amounts."""

from __future__ import annotations

import secrets
import uuid

import httpx

from centers.stock import api as stock_api
from tests.builders import open_shop
from tests.centers.order.flows import PLACE, place, place_input, read
from tests.conftest import TenantFixture, gql

CREATE_WAREHOUSE = """
mutation($input: CreateWarehouseInput!) {
  createWarehouse(input: $input) { location { id } userErrors { code } }
}
"""


async def _stock(tenant: TenantFixture, location: uuid.UUID, sku: uuid.UUID, units: int) -> None:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await stock_api.adjust(
            session,
            tenant.id,
            idempotency_key=f"seed-{secrets.token_hex(4)}",
            store_id=location,
            sku_id=sku,
            delta=units,
            reason="received",
        )


async def _warehouse(client: httpx.AsyncClient, token: str, priority: int) -> uuid.UUID:
    body = await gql(
        client,
        token,
        CREATE_WAREHOUSE,
        {"input": {"code": f"W{secrets.token_hex(3)}", "name": "DC", "priority": priority}},
    )
    assert body["data"]["createWarehouse"]["userErrors"] == [], body
    return uuid.UUID(body["data"]["createWarehouse"]["location"]["id"])


async def test_lines_the_store_lacks_ship_from_the_best_warehouse(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant, prices=(1200, 800), stock=0)
    await _stock(tenant, shop.store_id, shop.sku_ids[0], 10)
    far = await _warehouse(client, admin, priority=50)
    near = await _warehouse(client, admin, priority=10)
    for location in (far, near):
        await _stock(tenant, location, shop.sku_ids[1], 10)
    order = await place(client, admin, shop, [2, 3])
    found = await read(client, admin, order["id"])
    assert found is not None
    subs = {s["splitKey"]: s for s in found["subOrders"]}
    assert set(subs) == {f"store:{shop.store_id}", f"warehouse:{near}"}
    assert [line["lineNo"] for line in subs[f"store:{shop.store_id}"]["lines"]] == [1]
    assert [line["lineNo"] for line in subs[f"warehouse:{near}"]["lines"]] == [2]
    assert subs[f"warehouse:{near}"]["payable"]["amount"] == 3 * 800
    assert sum(s["payable"]["amount"] for s in found["subOrders"]) == found["payable"]["amount"]
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        levels = await stock_api.get_levels(
            session, tenant.id, [(near, shop.sku_ids[1]), (far, shop.sku_ids[1])]
        )
    assert levels[(near, shop.sku_ids[1])].reserved == 3
    assert levels[(far, shop.sku_ids[1])].reserved == 0


async def test_a_restaurant_order_is_served_by_its_store_only(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant, prices=(1200, 800), stock=0)
    await _stock(tenant, shop.store_id, shop.sku_ids[0], 10)
    warehouse = await _warehouse(client, admin, priority=10)
    await _stock(tenant, warehouse, shop.sku_ids[1], 10)
    body = await gql(client, admin, PLACE, place_input(shop, [1, 1], order_type="DINE_IN"))
    errors = body["data"]["placeOrder"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [
        ("OUT_OF_STOCK", ["input", "lines", "1", "quantity"])
    ]
