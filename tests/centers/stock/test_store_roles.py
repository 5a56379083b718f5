"""Roles held at one store, through the public API: a store's staff read and change that
store's stock only; other stores, warehouses and unknown locations answer FORBIDDEN."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.builders import Shop, open_shop
from tests.centers.stock.arrange import level
from tests.conftest import TenantFixture, gql

LEVELS = """
query($s: ID!) { stockLevels(storeId: $s, first: 10) { edges { node { locationId onHand } } } }
"""
ADJUST = """
mutation($input: AdjustStockInput!) {
  adjustStock(input: $input) { stockLevel { onHand locationId } userErrors { field code } }
}
"""
MOVEMENTS = """
query($l: ID!, $s: ID!) {
  stockMovements(locationId: $l, skuId: $s, first: 10) { edges { node { onHandDelta reason } } }
}
"""
OPEN = """
mutation($input: OpenFlashSaleInput!) {
  openFlashSale(input: $input) { stockLevel { reserved } userErrors { field code } }
}
"""
CLOSE = """
mutation($input: CloseFlashSaleInput!) {
  closeFlashSale(input: $input) { stockLevel { reserved } userErrors { field code } }
}
"""
LEFT = "query($l: ID!, $s: ID!) { flashSaleUnitsLeft(locationId: $l, skuId: $s) }"
LOCATIONS = "{ stockLocations(first: 20) { edges { node { id kind } } } }"
SET_STORE = """
mutation($input: SetStoreLocationInput!) {
  setStoreLocation(input: $input) { location { id } userErrors { code } }
}
"""
WAREHOUSE = """
mutation($input: CreateWarehouseInput!) {
  createWarehouse(input: $input) { location { id } userErrors { code } }
}
"""
VIA_LEVEL = """
query($a: ID!, $at: ID!) {
  stockLevels(storeId: $a, first: 10) {
    edges { node { sku { id stock(storeId: $at) { onHand } stockLevels { locationId onHand } } } }
  }
}
"""
SKU_STOCK = """
query($id: ID!, $s: ID!) {
  sku(id: $id) { stock(storeId: $s) { onHand } stockLevels { locationId onHand } }
}
"""


@dataclass
class TwoStores:
    a: Shop
    b: Shop
    admin: str
    # store_manager held at store A only
    manager_a: str


async def _two_stores(tenant: TenantFixture) -> TwoStores:
    a = await open_shop(tenant, stock=10)
    b = await open_shop(tenant, stock=10)
    return TwoStores(
        a=a,
        b=b,
        admin=await tenant.token("tenant_admin"),
        manager_a=await tenant.store_token("store_manager", a.store_id),
    )


def _forbidden(body: dict[str, Any]) -> None:
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body


def _sku_node(body: dict[str, Any], sku: uuid.UUID) -> dict[str, Any]:
    edges = body["data"]["stockLevels"]["edges"]
    found: dict[str, Any] = next(
        e["node"]["sku"] for e in edges if e["node"]["sku"]["id"] == str(sku)
    )
    return found


def _adjust(store: uuid.UUID | str, sku: uuid.UUID, key: str, delta: int = 5) -> dict[str, Any]:
    return {
        "input": {
            "idempotencyKey": key,
            "storeId": str(store),
            "skuId": str(sku),
            "delta": delta,
            "reason": "received",
        }
    }


async def test_store_manager_at_a_reads_and_adjusts_a_only(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    s = await _two_stores(tenant)
    read = await gql(client, s.manager_a, LEVELS, {"s": str(s.a.store_id)})
    nodes = [e["node"] for e in read["data"]["stockLevels"]["edges"]]
    assert len(nodes) == 3 and {n["locationId"] for n in nodes} == {str(s.a.store_id)}
    _forbidden(await gql(client, s.manager_a, LEVELS, {"s": str(s.b.store_id)}))

    adjusted = await gql(client, s.manager_a, ADJUST, _adjust(s.a.store_id, s.a.sku_ids[0], "a"))
    assert adjusted["data"]["adjustStock"] == {
        "stockLevel": {"onHand": 15, "locationId": str(s.a.store_id)},
        "userErrors": [],
    }
    refused = await gql(client, s.manager_a, ADJUST, _adjust(s.b.store_id, s.b.sku_ids[0], "b"))
    _forbidden(refused)
    assert refused["data"] is None
    # Nothing moved at B.
    assert (await level(tenant.runtime.db, tenant.id, s.b.store_id, s.b.sku_ids[0])).on_hand == 10


async def test_unknown_or_malformed_locations_are_forbidden_not_revealed(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    s = await _two_stores(tenant)
    nowhere = uuid.uuid4()
    _forbidden(await gql(client, s.manager_a, LEVELS, {"s": str(nowhere)}))
    _forbidden(await gql(client, s.manager_a, LEVELS, {"s": "not-an-id"}))
    _forbidden(await gql(client, s.manager_a, ADJUST, _adjust(nowhere, s.a.sku_ids[0], "nowhere")))
    # A tenant-wide caller learns the store does not exist, as before.
    admin = await gql(client, s.admin, ADJUST, _adjust(nowhere, s.a.sku_ids[0], "nowhere"))
    assert admin["data"]["adjustStock"]["userErrors"] == [
        {"field": ["input", "storeId"], "code": "STORE_NOT_FOUND"}
    ]


async def test_a_warehouse_needs_a_tenant_wide_role(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    s = await _two_stores(tenant)
    created = await gql(
        client, s.admin, WAREHOUSE, {"input": {"code": "WH-1", "name": "DC", "priority": 5}}
    )
    warehouse = created["data"]["createWarehouse"]["location"]["id"]
    _forbidden(await gql(client, s.manager_a, ADJUST, _adjust(warehouse, s.a.sku_ids[0], "wh")))
    _forbidden(await gql(client, s.manager_a, LEVELS, {"s": warehouse}))
    ok = await gql(client, s.admin, ADJUST, _adjust(warehouse, s.a.sku_ids[0], "wh"))
    assert ok["data"]["adjustStock"]["stockLevel"]["onHand"] == 5


async def test_movements_of_a_only(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    s = await _two_stores(tenant)
    read = await gql(
        client, s.manager_a, MOVEMENTS, {"l": str(s.a.store_id), "s": str(s.a.sku_ids[0])}
    )
    assert [e["node"] for e in read["data"]["stockMovements"]["edges"]] == [
        {"onHandDelta": 10, "reason": "received"}
    ]
    _forbidden(
        await gql(
            client, s.manager_a, MOVEMENTS, {"l": str(s.b.store_id), "s": str(s.b.sku_ids[0])}
        )
    )


async def test_flash_sales_at_a_only(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    s = await _two_stores(tenant)
    at_a = {"locationId": str(s.a.store_id), "skuId": str(s.a.sku_ids[0])}
    at_b = {"locationId": str(s.b.store_id), "skuId": str(s.b.sku_ids[0])}
    opened = await gql(client, s.manager_a, OPEN, {"input": {**at_a, "units": 4, "buckets": 2}})
    assert opened["data"]["openFlashSale"] == {"stockLevel": {"reserved": 4}, "userErrors": []}
    left = await gql(client, s.manager_a, LEFT, {"l": at_a["locationId"], "s": at_a["skuId"]})
    assert left["data"]["flashSaleUnitsLeft"] == 4
    closed = await gql(client, s.manager_a, CLOSE, {"input": at_a})
    assert closed["data"]["closeFlashSale"] == {"stockLevel": {"reserved": 0}, "userErrors": []}

    _forbidden(await gql(client, s.manager_a, OPEN, {"input": {**at_b, "units": 4}}))
    _forbidden(await gql(client, s.manager_a, LEFT, {"l": at_b["locationId"], "s": at_b["skuId"]}))
    _forbidden(await gql(client, s.manager_a, CLOSE, {"input": at_b}))
    assert (await level(tenant.runtime.db, tenant.id, s.b.store_id, s.b.sku_ids[0])).reserved == 0


async def test_stock_locations_narrowed_to_the_held_stores(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    s = await _two_stores(tenant)
    for store in (s.a.store_id, s.b.store_id):
        done = await gql(client, s.admin, SET_STORE, {"input": {"storeId": str(store)}})
        assert done["data"]["setStoreLocation"]["userErrors"] == []
    created = await gql(
        client, s.admin, WAREHOUSE, {"input": {"code": "WH-2", "name": "DC", "priority": 5}}
    )
    warehouse = created["data"]["createWarehouse"]["location"]["id"]

    mine = await gql(client, s.manager_a, LOCATIONS)
    assert [e["node"] for e in mine["data"]["stockLocations"]["edges"]] == [
        {"id": str(s.a.store_id), "kind": "STORE"}
    ]
    every = await gql(client, s.admin, LOCATIONS)
    assert {e["node"]["id"] for e in every["data"]["stockLocations"]["edges"]} == {
        str(s.a.store_id),
        str(s.b.store_id),
        warehouse,
    }
    # Held at no store at all: refused, not an empty list.
    cashier_nowhere = await tenant.store_token("cashier")
    _forbidden(await gql(client, cashier_nowhere, LOCATIONS))


async def test_stock_under_a_sku_is_the_held_stores_only(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    s = await _two_stores(tenant)
    sku = s.a.sku_ids[0]
    # The same SKU is stocked at B as well.
    seeded = await gql(client, s.admin, ADJUST, _adjust(s.b.store_id, sku, "b-too", 7))
    assert seeded["data"]["adjustStock"]["userErrors"] == []
    a, b = str(s.a.store_id), str(s.b.store_id)

    # From A's levels to the SKU and on to its stock elsewhere: A's only.
    mine = await gql(client, s.manager_a, VIA_LEVEL, {"a": a, "at": a})
    assert "errors" not in mine
    assert _sku_node(mine, sku) == {
        "id": str(sku),
        "stock": {"onHand": 10},
        "stockLevels": [{"locationId": a, "onHand": 10}],
    }
    other = await gql(client, s.manager_a, VIA_LEVEL, {"a": a, "at": b})
    assert {e["extensions"]["code"] for e in other["errors"]} == {"FORBIDDEN"}
    assert all(e["path"][-2:] == ["sku", "stock"] for e in other["errors"])
    assert _sku_node(other, sku)["stock"] is None

    # Through the catalog's Sku too: A's stock and A's levels, never B's.
    via_catalog = await gql(client, s.manager_a, SKU_STOCK, {"id": str(sku), "s": a})
    assert "errors" not in via_catalog, via_catalog
    assert via_catalog["data"]["sku"] == {
        "stock": {"onHand": 10},
        "stockLevels": [{"locationId": a, "onHand": 10}],
    }
    _forbidden(await gql(client, s.manager_a, SKU_STOCK, {"id": str(sku), "s": b}))

    every = await gql(client, s.admin, SKU_STOCK, {"id": str(sku), "s": b})
    assert every["data"]["sku"]["stock"] == {"onHand": 7}
    assert sorted(
        (x["locationId"], x["onHand"]) for x in every["data"]["sku"]["stockLevels"]
    ) == sorted([(a, 10), (b, 7)])


async def test_cashier_at_a_reads_but_does_not_adjust(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    s = await _two_stores(tenant)
    cashier = await tenant.store_token("cashier", s.a.store_id)
    read = await gql(client, cashier, LEVELS, {"s": str(s.a.store_id)})
    assert len(read["data"]["stockLevels"]["edges"]) == 3
    _forbidden(await gql(client, cashier, LEVELS, {"s": str(s.b.store_id)}))
    _forbidden(await gql(client, cashier, ADJUST, _adjust(s.a.store_id, s.a.sku_ids[0], "c")))


async def test_roles_held_at_two_stores_and_tenant_wide(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    s = await _two_stores(tenant)
    both = await tenant.store_token("store_manager", s.a.store_id, s.b.store_id)
    wide = await tenant.token("store_manager")
    for who, token in (("both", both), ("wide", wide)):
        for shop in (s.a, s.b):
            read = await gql(client, token, LEVELS, {"s": str(shop.store_id)})
            assert len(read["data"]["stockLevels"]["edges"]) == 3
            key = f"{who}-{shop.store_id}"
            adjusted = await gql(
                client, token, ADJUST, _adjust(shop.store_id, shop.sku_ids[1], key)
            )
            assert adjusted["data"]["adjustStock"]["userErrors"] == []
