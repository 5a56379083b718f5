"""ERP stock sync (库存同步): idempotent, ordered by source version, reservations kept."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx

from centers.stock import api as stock_api
from kernel.db import Database
from tests.builders import open_shop
from tests.centers.stock.arrange import level, reserve
from tests.conftest import TenantFixture, gql

SYNC = """
mutation($input: SyncStockLevelsInput!) {
  syncStockLevels(input: $input) {
    results { applied shortfall stockLevel { onHand reserved available } }
    userErrors { field code }
  }
}
"""


def _count(location: object, sku: object, on_hand: int, version: int) -> dict[str, Any]:
    return {
        "locationId": str(location),
        "skuId": str(sku),
        "onHand": on_hand,
        "sourceVersion": version,
    }


async def test_newer_count_applies_and_older_or_repeated_ones_do_not(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=0)
    token = await tenant.token("tenant_admin")
    sku = shop.sku_ids[0]

    async def push(on_hand: int, version: int) -> dict[str, Any]:
        body = await gql(
            client,
            token,
            SYNC,
            {"input": {"source": "erp", "counts": [_count(shop.store_id, sku, on_hand, version)]}},
        )
        result: dict[str, Any] = body["data"]["syncStockLevels"]["results"][0]
        return result

    assert (await push(40, 7))["stockLevel"]["onHand"] == 40
    stale = await push(90, 6)
    assert stale["applied"] is False and stale["stockLevel"]["onHand"] == 40
    replay = await push(40, 7)
    assert replay["applied"] is False
    newer = await push(35, 8)
    assert newer["applied"] is True and newer["stockLevel"]["onHand"] == 35


async def test_count_below_reserved_keeps_the_reservations_and_reports_the_shortfall(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=10)
    sku = shop.sku_ids[0]
    await reserve(db, tenant.id, shop.store_id, {sku: 6})
    body = await gql(
        client,
        await tenant.token("tenant_admin"),
        SYNC,
        {"input": {"source": "erp", "counts": [_count(shop.store_id, sku, 4, 1)]}},
    )
    result = body["data"]["syncStockLevels"]["results"][0]
    assert result["shortfall"] == 2
    assert result["stockLevel"] == {"onHand": 6, "reserved": 6, "available": 0}


async def test_out_of_order_concurrent_messages_end_at_the_newest_count(
    tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=0)
    sku = shop.sku_ids[0]
    versions = list(range(1, 31))
    random.Random(5).shuffle(versions)

    async def apply(version: int) -> None:
        async with db.unit_of_work(tenant.id) as session:
            await stock_api.sync_level(
                session, tenant.id, shop.store_id, sku, version * 10, version, "erp"
            )

    await asyncio.gather(*(apply(v) for v in versions))
    assert (await level(db, tenant.id, shop.store_id, sku)).on_hand == 300


async def test_bad_counts_are_user_errors_and_write_nothing(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=3)
    sku = shop.sku_ids[0]
    body = await gql(
        client,
        await tenant.token("tenant_admin"),
        SYNC,
        {
            "input": {
                "source": "erp",
                "counts": [
                    _count(shop.store_id, sku, 50, 1),
                    _count(shop.store_id, sku, -1, 2),
                ],
            }
        },
    )
    assert body["data"]["syncStockLevels"]["userErrors"] == [
        {"field": ["input", "counts", "1", "onHand"], "code": "INVALID_ON_HAND"}
    ]
    assert (await level(db, tenant.id, shop.store_id, sku)).on_hand == 3


async def test_unknown_location_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    theirs = await open_shop(other_tenant, stock=1)
    body = await gql(
        client,
        await tenant.token("tenant_admin"),
        SYNC,
        {"input": {"source": "erp", "counts": [_count(theirs.store_id, theirs.sku_ids[0], 5, 1)]}},
    )
    assert body["data"]["syncStockLevels"]["userErrors"][0]["code"] == "LOCATION_NOT_FOUND"


async def test_cashiers_cannot_sync(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    shop = await open_shop(tenant, stock=1)
    body = await gql(
        client,
        await tenant.token("cashier"),
        SYNC,
        {"input": {"source": "erp", "counts": [_count(shop.store_id, shop.sku_ids[0], 5, 1)]}},
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
