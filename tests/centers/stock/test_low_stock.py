"""Low-stock threshold per SKU and location, and the ``stock.low`` event."""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.builders import open_shop
from tests.centers.stock.arrange import LEVEL, events, reserve
from tests.conftest import TenantFixture, gql

SET_THRESHOLD = """
mutation($input: SetLowStockThresholdInput!) {
  setLowStockThreshold(input: $input) { stockLevel { available lowThreshold } userErrors { field code } }
}
"""
ADJUST = """
mutation($input: AdjustStockInput!) { adjustStock(input: $input) { userErrors { code } } }
"""


async def test_stock_low_fires_once_per_crossing(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=10)
    sku = shop.sku_ids[0]
    token = await tenant.token("tenant_admin")
    body = await gql(
        client,
        token,
        SET_THRESHOLD,
        {"input": {"locationId": str(shop.store_id), "skuId": str(sku), "threshold": 3}},
    )
    assert body["data"]["setLowStockThreshold"]["stockLevel"] == {
        "available": 10,
        "lowThreshold": 3,
    }
    await reserve(db, tenant.id, shop.store_id, {sku: 6})  # 4 left: above
    assert await events(db, tenant.id, "stock.low") == []
    await reserve(db, tenant.id, shop.store_id, {sku: 2})  # 2 left: crossed
    await reserve(db, tenant.id, shop.store_id, {sku: 1})  # 1 left: still low
    low = await events(db, tenant.id, "stock.low")
    assert [(e["available"], e["threshold"], e["sku_id"]) for e in low] == [(2, 3, str(sku))]
    restock = {
        "idempotencyKey": "grn-9",
        "storeId": str(shop.store_id),
        "skuId": str(sku),
        "delta": 10,
        "reason": "received",
    }
    await gql(client, token, ADJUST, {"input": restock})  # 11 available: above again
    await reserve(db, tenant.id, shop.store_id, {sku: 9})  # 2 left: crossed again
    assert len(await events(db, tenant.id, "stock.low")) == 2
    read = await gql(client, token, LEVEL, {"id": str(sku), "store": str(shop.store_id)})
    assert read["data"]["sku"]["stock"]["lowThreshold"] == 3


async def test_negative_threshold_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=1)
    body = await gql(
        client,
        await tenant.token("tenant_admin"),
        SET_THRESHOLD,
        {
            "input": {
                "locationId": str(shop.store_id),
                "skuId": str(shop.sku_ids[0]),
                "threshold": -1,
            }
        },
    )
    assert body["data"]["setLowStockThreshold"]["userErrors"] == [
        {"field": ["input", "threshold"], "code": "INVALID_THRESHOLD"}
    ]


async def test_a_flash_sale_taking_stock_below_the_threshold_alerts(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=10)
    sku = shop.sku_ids[0]
    token = await tenant.token("tenant_admin")
    ids = {"locationId": str(shop.store_id), "skuId": str(sku)}
    await gql(client, token, SET_THRESHOLD, {"input": {**ids, "threshold": 2}})
    await gql(
        client,
        token,
        "mutation($i: OpenFlashSaleInput!) { openFlashSale(input: $i) { userErrors { code } } }",
        {"i": {**ids, "units": 9}},
    )
    low = await events(db, tenant.id, "stock.low")
    assert [(e["available"], e["threshold"]) for e in low] == [(1, 2)]
