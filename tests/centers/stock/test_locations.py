"""Warehouses and stores as stock locations, and the movements ledger through the API."""

from __future__ import annotations

import httpx

from tests.builders import open_shop
from tests.conftest import TenantFixture, gql

CREATE = """
mutation($input: CreateWarehouseInput!) {
  createWarehouse(input: $input) {
    location { id kind code name priority latitude longitude active } userErrors { field code }
  }
}
"""
SET_STORE = """
mutation($input: SetStoreLocationInput!) {
  setStoreLocation(input: $input) { location { id kind priority latitude } userErrors { field code } }
}
"""
ADJUST = """
mutation($input: AdjustStockInput!) {
  adjustStock(input: $input) { stockLevel { onHand locationId location { code kind } } userErrors { code } }
}
"""
MOVEMENTS = """
query($l: ID!, $s: ID!, $after: String) {
  stockMovements(locationId: $l, skuId: $s, first: 2, after: $after) {
    edges { node { onHandDelta reservedDelta reason sourceId } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_stock_held_in_a_warehouse(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    shop = await open_shop(tenant, stock=0)
    token = await tenant.token("tenant_admin")
    body = await gql(
        client,
        token,
        CREATE,
        {
            "input": {
                "code": "WH-EAST",
                "name": "East DC",
                "priority": 5,
                "latitude": 31.2304,
                "longitude": 121.4737,
            }
        },
    )
    warehouse = body["data"]["createWarehouse"]["location"]
    assert warehouse["kind"] == "WAREHOUSE" and warehouse["latitude"] == 31.2304
    adjusted = await gql(
        client,
        token,
        ADJUST,
        {
            "input": {
                "idempotencyKey": "wh-1",
                "storeId": warehouse["id"],
                "skuId": str(shop.sku_ids[0]),
                "delta": 500,
                "reason": "received",
            }
        },
    )
    assert adjusted["data"]["adjustStock"]["stockLevel"] == {
        "onHand": 500,
        "locationId": warehouse["id"],
        "location": {"code": "WH-EAST", "kind": "WAREHOUSE"},
    }
    listed = await gql(client, token, "{ stockLocations(first: 10) { edges { node { code } } } }")
    assert [e["node"]["code"] for e in listed["data"]["stockLocations"]["edges"]] == ["WH-EAST"]


async def test_warehouse_codes_are_unique_and_positions_checked(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    await gql(client, token, CREATE, {"input": {"code": "WH-1", "name": "One"}})
    again = await gql(client, token, CREATE, {"input": {"code": "WH-1", "name": "Two"}})
    assert again["data"]["createWarehouse"]["userErrors"] == [
        {"field": ["input", "code"], "code": "CODE_TAKEN"}
    ]
    bad = await gql(
        client,
        token,
        CREATE,
        {"input": {"code": "WH-2", "name": "X", "latitude": 95.0, "longitude": 1.0}},
    )
    assert bad["data"]["createWarehouse"]["userErrors"][0]["code"] == "INVALID_POSITION"


async def test_store_registered_as_a_location(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=0)
    token = await tenant.token("tenant_admin")
    body = await gql(
        client,
        token,
        SET_STORE,
        {
            "input": {
                "storeId": str(shop.store_id),
                "priority": 1,
                "latitude": 31.0,
                "longitude": 121.0,
            }
        },
    )
    assert body["data"]["setStoreLocation"]["location"] == {
        "id": str(shop.store_id),
        "kind": "STORE",
        "priority": 1,
        "latitude": 31.0,
    }
    theirs = await open_shop(other_tenant, stock=0)
    foreign = await gql(client, token, SET_STORE, {"input": {"storeId": str(theirs.store_id)}})
    assert foreign["data"]["setStoreLocation"]["userErrors"][0]["code"] == "STORE_NOT_FOUND"


async def test_movements_ledger_pages_newest_first(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=10)
    token = await tenant.token("store_manager")
    for index, delta in enumerate((5, -2)):
        await gql(
            client,
            token,
            ADJUST,
            {
                "input": {
                    "idempotencyKey": f"m-{index}",
                    "storeId": str(shop.store_id),
                    "skuId": str(shop.sku_ids[0]),
                    "delta": delta,
                    "reason": "count",
                }
            },
        )
    variables = {"l": str(shop.store_id), "s": str(shop.sku_ids[0]), "after": None}
    first = (await gql(client, token, MOVEMENTS, variables))["data"]["stockMovements"]
    assert [e["node"]["onHandDelta"] for e in first["edges"]] == [-2, 5]
    assert first["pageInfo"]["hasNextPage"] is True
    variables["after"] = first["pageInfo"]["endCursor"]
    rest = (await gql(client, token, MOVEMENTS, variables))["data"]["stockMovements"]
    assert [e["node"]["onHandDelta"] for e in rest["edges"]] == [10]
    customer = await gql(client, await tenant.token("customer"), MOVEMENTS, variables)
    assert customer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
