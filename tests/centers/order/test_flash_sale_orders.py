"""Flash sale (秒杀) through placeOrder: lines priced by an active FLASH_SALE activity
claim from the flash sale's buckets, so a rush of concurrent orders never oversells."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from kernel.db import Database
from tests.builders import open_shop
from tests.centers.order.flows import PLACE, fire, place_input
from tests.centers.order.test_place_order import stock_of
from tests.centers.promotion.arrange import live_activity
from tests.centers.stock.arrange import assert_reconciled
from tests.centers.stock.test_flash_sale import LEFT, OPEN
from tests.conftest import TenantFixture, gql


async def _place(client: httpx.AsyncClient, token: str, variables: dict[str, Any]) -> list[str]:
    body = await gql(client, token, PLACE, variables)
    assert "errors" not in body, body
    return [e["code"] for e in body["data"]["placeOrder"]["userErrors"]]


async def test_concurrent_flash_sale_orders_never_oversell(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=100)
    admin = await tenant.token("tenant_admin")
    manager = await tenant.token("store_manager")
    sku = shop.sku_ids[0]
    await live_activity(
        client, admin, "FLASH_SALE", {"unitPrice": 99, "scope": {"skuIds": [str(sku)]}}
    )
    ids = {"locationId": str(shop.store_id), "skuId": str(sku)}
    opened = await gql(client, manager, OPEN, {"input": {**ids, "units": 8, "buckets": 4}})
    assert opened["data"]["openFlashSale"]["userErrors"] == []

    outcomes = await asyncio.gather(
        *(_place(client, manager, place_input(shop, [1])) for _ in range(20))
    )
    assert sorted(outcomes).count([]) == 8
    assert all(codes in ([], ["OUT_OF_STOCK"]) for codes in outcomes)
    left = await gql(client, manager, LEFT, {"l": str(shop.store_id), "s": str(sku)})
    assert left["data"]["flashSaleUnitsLeft"] == 0
    # The 92 units outside the sale were never touched by the flash-price orders.
    assert (await stock_of(client, manager, shop))["available"] == 92
    await assert_reconciled(db, tenant.id)


async def test_a_flash_sale_order_is_priced_at_the_flash_price_and_a_cancel_returns_the_unit(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=10)
    admin = await tenant.token("tenant_admin")
    manager = await tenant.token("store_manager")
    sku = shop.sku_ids[0]
    await live_activity(
        client, admin, "FLASH_SALE", {"unitPrice": 99, "scope": {"skuIds": [str(sku)]}}
    )
    ids = {"locationId": str(shop.store_id), "skuId": str(sku)}
    await gql(client, manager, OPEN, {"input": {**ids, "units": 1, "buckets": 1}})
    body = await gql(client, manager, PLACE, place_input(shop, [1, 1]))
    payload = body["data"]["placeOrder"]
    assert payload["userErrors"] == []
    assert payload["order"]["total"]["amount"] == 99 + 800
    sold_out = await gql(client, manager, PLACE, place_input(shop, [1]))
    assert sold_out["data"]["placeOrder"]["userErrors"] == [
        {
            "field": ["input", "lines", "0", "quantity"],
            "message": "sold out",
            "code": "OUT_OF_STOCK",
        }
    ]
    cancelled = await fire(client, manager, payload["order"]["id"], "CANCEL")
    assert cancelled["userErrors"] == []
    left = await gql(client, manager, LEFT, {"l": str(shop.store_id), "s": str(sku)})
    assert left["data"]["flashSaleUnitsLeft"] == 1
    again = await gql(client, manager, PLACE, place_input(shop, [1]))
    assert again["data"]["placeOrder"]["userErrors"] == []
