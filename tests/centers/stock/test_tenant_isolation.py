"""Another brand's locations, levels, ledger, sales and orders behave as if absent."""

from __future__ import annotations

import httpx

from centers.stock import api as stock_api
from kernel.db import Database
from tests.builders import open_shop
from tests.centers.stock.arrange import level, reserve
from tests.conftest import TenantFixture, gql


async def test_another_brands_stock_is_out_of_reach(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture, db: Database
) -> None:
    theirs = await open_shop(other_tenant, stock=10)
    mine = await open_shop(tenant, stock=10)
    token = await tenant.token("tenant_admin")
    warehouse = await gql(
        client,
        await other_tenant.token("tenant_admin"),
        'mutation { createWarehouse(input: {code: "W", name: "Theirs"}) { location { id } } }',
    )
    their_warehouse = warehouse["data"]["createWarehouse"]["location"]["id"]
    adjust = await gql(
        client,
        token,
        "mutation($i: AdjustStockInput!) { adjustStock(input: $i) { userErrors { code } } }",
        {
            "i": {
                "idempotencyKey": "x",
                "storeId": their_warehouse,
                "skuId": str(mine.sku_ids[0]),
                "delta": 1,
                "reason": "count",
            }
        },
    )
    assert adjust["data"]["adjustStock"]["userErrors"] == [{"code": "STORE_NOT_FOUND"}]
    flash = await gql(
        client,
        token,
        "mutation($i: OpenFlashSaleInput!) { openFlashSale(input: $i) { userErrors { code } } }",
        {"i": {"locationId": str(theirs.store_id), "skuId": str(theirs.sku_ids[0]), "units": 1}},
    )
    assert flash["data"]["openFlashSale"]["userErrors"] == [{"code": "LOCATION_NOT_FOUND"}]
    ledger = await gql(
        client,
        token,
        "query($l: ID!, $s: ID!) { stockMovements(locationId: $l, skuId: $s) { edges { node { id } } } }",
        {"l": str(theirs.store_id), "s": str(theirs.sku_ids[0])},
    )
    assert ledger["data"]["stockMovements"]["edges"] == []
    listed = await gql(client, token, "{ stockLocations { edges { node { id } } } }")
    assert listed["data"]["stockLocations"]["edges"] == []
    # Their order id means nothing here: releasing or confirming it touches nothing.
    their_order = await reserve(db, other_tenant.id, theirs.store_id, {theirs.sku_ids[0]: 4})
    async with db.unit_of_work(tenant.id) as session:
        await stock_api.release(session, tenant.id, their_order)
        await stock_api.confirm_for_order(session, tenant.id, their_order)
    assert (await level(db, other_tenant.id, theirs.store_id, theirs.sku_ids[0])).reserved == 4
