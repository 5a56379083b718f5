"""Dispatch (派单) through the API: store first for O2O, then warehouse priority, distance
and stock, splitting when no location has everything; every choice explained."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from centers.fulfillment import api as fulfillment_api
from centers.stock import api as stock_api
from kernel.db import Database
from tests.builders import open_shop
from tests.conftest import TenantFixture, gql

DISPATCH = """
mutation($input: DispatchOrderInput!) {
  dispatchOrder(input: $input) {
    dispatch {
      assignments { sku { id } quantity locationId locationName locationKind }
      candidates { name chosen linesCovered distanceMeters note }
      explanation
    }
    userErrors { field code message }
  }
}
"""
WAREHOUSE = """
mutation($input: CreateWarehouseInput!) { createWarehouse(input: $input) { location { id } } }
"""
STORE_LOCATION = """
mutation($input: SetStoreLocationInput!) { setStoreLocation(input: $input) { location { id } } }
"""
PEOPLES_SQUARE = (31.2304, 121.4737)  # the customer
NEAR = (31.2400, 121.4800)  # ~1.2 km away
FAR = (31.3500, 121.6000)  # ~18 km away


@dataclass
class World:
    store: uuid.UUID
    skus: list[uuid.UUID]
    near: str
    far: str
    token: str


async def _stock(
    db: Database, tenant: TenantFixture, location: uuid.UUID, sku: uuid.UUID, units: int
) -> None:
    async with db.unit_of_work(tenant.id) as session:
        await stock_api.adjust(
            session,
            tenant.id,
            idempotency_key=f"{location}-{sku}",
            store_id=location,
            sku_id=sku,
            delta=units,
            reason="received",
        )


async def _world(client: httpx.AsyncClient, tenant: TenantFixture, db: Database) -> World:
    shop = await open_shop(tenant, prices=(100, 200), stock=0)
    token = await tenant.token("tenant_admin")
    await gql(
        client,
        token,
        STORE_LOCATION,
        {
            "input": {
                "storeId": str(shop.store_id),
                "priority": 0,
                "latitude": 31.2310,
                "longitude": 121.4740,
            }
        },
    )
    ids = []
    for code, (lat, lng) in (("WH-NEAR", NEAR), ("WH-FAR", FAR)):
        body = await gql(
            client,
            token,
            WAREHOUSE,
            {
                "input": {
                    "code": code,
                    "name": code,
                    "priority": 10,
                    "latitude": lat,
                    "longitude": lng,
                }
            },
        )
        ids.append(body["data"]["createWarehouse"]["location"]["id"])
    return World(shop.store_id, shop.sku_ids, ids[0], ids[1], token)


def _input(world: World, quantities: list[int], o2o: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "orderId": str(uuid.uuid4()),
            "lines": [
                {"skuId": str(s), "quantity": q}
                for s, q in zip(world.skus, quantities, strict=False)
            ],
            "storeId": str(world.store) if o2o else None,
            "latitude": PEOPLES_SQUARE[0],
            "longitude": PEOPLES_SQUARE[1],
            **extra,
        }
    }


async def test_o2o_order_goes_to_its_store_when_it_has_everything(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    world = await _world(client, tenant, db)
    for sku in world.skus:
        await _stock(db, tenant, world.store, sku, 5)
        await _stock(db, tenant, uuid.UUID(world.near), sku, 50)
    body = await gql(client, world.token, DISPATCH, _input(world, [2, 1]))
    plan = body["data"]["dispatchOrder"]["dispatch"]
    assert {a["locationId"] for a in plan["assignments"]} == {str(world.store)}
    assert plan["explanation"][0].startswith("Store first (O2O)")


async def test_store_short_falls_back_to_the_nearer_warehouse_of_equal_priority(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    world = await _world(client, tenant, db)
    await _stock(db, tenant, world.store, world.skus[0], 1)  # short of 3
    for sku in world.skus:
        await _stock(db, tenant, uuid.UUID(world.near), sku, 50)
        await _stock(db, tenant, uuid.UUID(world.far), sku, 50)
    body = await gql(client, world.token, DISPATCH, _input(world, [3, 1]))
    plan = body["data"]["dispatchOrder"]["dispatch"]
    assert {a["locationName"] for a in plan["assignments"]} == {"WH-NEAR"}
    assert "lacks 1 of 3 of SKU D0-" in plan["explanation"][0]  # named by its code
    assert "WH-NEAR has every line" in plan["explanation"][1]
    far = next(c for c in plan["candidates"] if c["name"] == "WH-FAR")
    assert not far["chosen"] and far["distanceMeters"] > 10_000
    assert "not chosen" in far["note"]


async def test_priority_beats_distance(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    world = await _world(client, tenant, db)
    await gql(
        client,
        world.token,
        "mutation($i: UpdateWarehouseInput!) { updateWarehouse(input: $i) { userErrors { code } } }",
        {
            "i": {
                "id": world.far,
                "name": "WH-FAR",
                "priority": 1,
                "latitude": FAR[0],
                "longitude": FAR[1],
            }
        },
    )
    for sku in world.skus:
        await _stock(db, tenant, uuid.UUID(world.near), sku, 50)
        await _stock(db, tenant, uuid.UUID(world.far), sku, 50)
    body = await gql(client, world.token, DISPATCH, _input(world, [1, 1], o2o=False))
    plan = body["data"]["dispatchOrder"]["dispatch"]
    assert {a["locationName"] for a in plan["assignments"]} == {"WH-FAR"}


async def test_no_single_location_splits_by_line(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    world = await _world(client, tenant, db)
    await _stock(db, tenant, uuid.UUID(world.near), world.skus[0], 10)
    await _stock(db, tenant, uuid.UUID(world.far), world.skus[1], 10)
    body = await gql(client, world.token, DISPATCH, _input(world, [4, 4], o2o=False))
    plan = body["data"]["dispatchOrder"]["dispatch"]
    where = {a["sku"]["id"]: a["locationName"] for a in plan["assignments"]}
    assert where == {str(world.skus[0]): "WH-NEAR", str(world.skus[1]): "WH-FAR"}
    assert plan["explanation"][0] == "No single location has every line: the order splits."


async def test_a_line_nobody_has_is_out_of_stock(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    world = await _world(client, tenant, db)
    await _stock(db, tenant, uuid.UUID(world.near), world.skus[0], 1)
    body = await gql(client, world.token, DISPATCH, _input(world, [2], o2o=False))
    assert body["data"]["dispatchOrder"]["userErrors"][0]["code"] == "OUT_OF_STOCK"


async def test_the_plan_is_recorded_on_the_order(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    world = await _world(client, tenant, db)
    for sku in world.skus:
        await _stock(db, tenant, uuid.UUID(world.near), sku, 5)
    variables = _input(world, [1, 1], o2o=False)
    await gql(client, world.token, DISPATCH, variables)
    order_id = variables["input"]["orderId"]
    read = await gql(
        client,
        world.token,
        "query($o: ID!) { dispatch(orderId: $o) { assignments { locationName } explanation } }",
        {"o": order_id},
    )
    assert read["data"]["dispatch"]["assignments"][0]["locationName"] == "WH-NEAR"
    async with db.unit_of_work(tenant.id) as session:
        plan = await fulfillment_api.get_dispatch(session, tenant.id, uuid.UUID(order_id))
    assert plan is not None and plan.locations == (uuid.UUID(world.near),)


async def test_dispatch_measures_distance_to_a_pickup_point(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    world = await _world(client, tenant, db)
    for sku in world.skus:
        await _stock(db, tenant, uuid.UUID(world.near), sku, 5)
        await _stock(db, tenant, uuid.UUID(world.far), sku, 5)
    point = await gql(
        client,
        world.token,
        "mutation($i: CreatePickupPointInput!) { createPickupPoint(input: $i) { pickupPoint { id } } }",
        {
            "i": {
                "code": "PP-1",
                "name": "Locker 1",
                "address": "1 Far Road",
                "latitude": FAR[0],
                "longitude": FAR[1],
            }
        },
    )
    point_id = point["data"]["createPickupPoint"]["pickupPoint"]["id"]
    variables = _input(world, [1, 1], o2o=False, pickupPointId=point_id)
    del variables["input"]["latitude"], variables["input"]["longitude"]
    body = await gql(client, world.token, DISPATCH, variables)
    plan = body["data"]["dispatchOrder"]["dispatch"]
    assert {a["locationName"] for a in plan["assignments"]} == {"WH-FAR"}


async def test_cashiers_cannot_dispatch(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    world = await _world(client, tenant, db)
    body = await gql(client, await tenant.token("cashier"), DISPATCH, _input(world, [1]))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
