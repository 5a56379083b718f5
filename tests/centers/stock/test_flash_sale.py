"""Flash sale of one hot SKU: many concurrent buyers, limited units, no oversell."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from centers.stock import api as stock_api
from kernel.db import Database
from kernel.errors import UserInputError
from kernel.ids import new_id
from tests.builders import open_shop
from tests.centers.stock.arrange import assert_reconciled, level
from tests.conftest import TenantFixture, gql

OPEN = """
mutation($input: OpenFlashSaleInput!) {
  openFlashSale(input: $input) { stockLevel { onHand reserved available } userErrors { field code } }
}
"""
CLOSE = """
mutation($input: CloseFlashSaleInput!) {
  closeFlashSale(input: $input) { stockLevel { onHand reserved available } userErrors { field code } }
}
"""
LEFT = "query($l: ID!, $s: ID!) { flashSaleUnitsLeft(locationId: $l, skuId: $s) }"


async def _claim(
    db: Database, tenant_id: uuid.UUID, location: uuid.UUID, sku: uuid.UUID
) -> uuid.UUID | None:
    order_id = new_id()
    try:
        async with db.unit_of_work(tenant_id) as session:
            await stock_api.flash_reserve(
                session, tenant_id, location_id=location, sku_id=sku, order_id=order_id
            )
    except UserInputError as error:
        assert error.code == "OUT_OF_STOCK"
        return None
    return order_id


async def test_many_concurrent_buyers_never_oversell(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=100)
    sku = shop.sku_ids[0]
    token = await tenant.token("store_manager")
    ids = {"locationId": str(shop.store_id), "skuId": str(sku)}
    opened = await gql(client, token, OPEN, {"input": {**ids, "units": 25, "buckets": 8}})
    assert opened["data"]["openFlashSale"]["stockLevel"] == {
        "onHand": 100,
        "reserved": 25,
        "available": 75,
    }
    won = [
        o
        for o in await asyncio.gather(
            *(_claim(db, tenant.id, shop.store_id, sku) for _ in range(60))
        )
        if o is not None
    ]
    assert len(won) == 25
    left = await gql(client, token, LEFT, {"l": str(shop.store_id), "s": str(sku)})
    assert left["data"]["flashSaleUnitsLeft"] == 0
    await assert_reconciled(db, tenant.id)
    for order in won[:5]:  # paid
        async with db.unit_of_work(tenant.id) as session:
            await stock_api.confirm_for_order(session, tenant.id, order)
    for order in won[5:8]:  # cancelled: the units go back to the sale
        async with db.unit_of_work(tenant.id) as session:
            await stock_api.release(session, tenant.id, order)
    left = await gql(client, token, LEFT, {"l": str(shop.store_id), "s": str(sku)})
    assert left["data"]["flashSaleUnitsLeft"] == 3
    closed = await gql(client, token, CLOSE, {"input": ids})
    # 5 sold, 17 still held by unpaid orders, 3 unclaimed returned to available.
    assert closed["data"]["closeFlashSale"]["stockLevel"] == {
        "onHand": 95,
        "reserved": 17,
        "available": 78,
    }
    await assert_reconciled(db, tenant.id)


async def test_a_sale_cannot_take_more_than_is_available(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=5)
    body = await gql(
        client,
        await tenant.token("store_manager"),
        OPEN,
        {"input": {"locationId": str(shop.store_id), "skuId": str(shop.sku_ids[0]), "units": 6}},
    )
    assert body["data"]["openFlashSale"]["userErrors"] == [
        {"field": ["input", "units"], "code": "INSUFFICIENT_STOCK"}
    ]


async def test_closing_without_a_sale_is_a_user_error(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=5)
    body = await gql(
        client,
        await tenant.token("store_manager"),
        CLOSE,
        {"input": {"locationId": str(shop.store_id), "skuId": str(shop.sku_ids[0])}},
    )
    assert body["data"]["closeFlashSale"]["userErrors"][0]["code"] == "NO_FLASH_SALE"


async def test_claims_after_the_sale_closes_are_sold_out(
    tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=5)
    sku = shop.sku_ids[0]
    with pytest.raises(UserInputError):
        async with db.unit_of_work(tenant.id) as session:
            await stock_api.flash_reserve(
                session, tenant.id, location_id=shop.store_id, sku_id=sku, order_id=new_id()
            )
    assert (await level(db, tenant.id, shop.store_id, sku)).reserved == 0
