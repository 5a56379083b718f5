"""Shipments through the API: status machine, packages split and merged, carriers and
tracking events, tracking numbers by CSV, restaurant pickup and riders, pickup points."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from kernel.db import Database
from tests.builders import open_shop
from tests.centers.stock.arrange import events
from tests.conftest import TenantFixture, gql

SHIPMENT_FIELDS = """
  id status carrier trackingNumber pickupCode riderStatus riderName
  lines { lineNo quantity sku { id } order { id } }
"""
CREATE = f"""
mutation($input: CreateShipmentInput!) {{
  createShipment(input: $input) {{ shipment {{ {SHIPMENT_FIELDS} }} userErrors {{ field code }} }}
}}
"""
STATUS = f"""
mutation($input: SetShipmentStatusInput!) {{
  setShipmentStatus(input: $input) {{ shipment {{ {SHIPMENT_FIELDS} }} userErrors {{ field code }} }}
}}
"""
CARRIER = f"""
mutation($input: AssignCarrierInput!) {{
  assignCarrier(input: $input) {{ shipment {{ {SHIPMENT_FIELDS} }} userErrors {{ field code }} }}
}}
"""
RIDER = f"""
mutation($input: UpdateRiderInput!) {{
  updateRider(input: $input) {{ shipment {{ {SHIPMENT_FIELDS} }} userErrors {{ field code }} }}
}}
"""
SPLIT = f"""
mutation($input: SplitShipmentInput!) {{
  splitShipment(input: $input) {{
    shipment {{ {SHIPMENT_FIELDS} }} newShipment {{ {SHIPMENT_FIELDS} }} userErrors {{ field code }}
  }}
}}
"""
MERGE = f"""
mutation($input: MergeShipmentsInput!) {{
  mergeShipments(input: $input) {{ shipment {{ {SHIPMENT_FIELDS} }} userErrors {{ field code }} }}
}}
"""
TRACK = """
mutation($input: RecordTrackingEventsInput!) {
  recordTrackingEvents(input: $input) {
    added shipment { trackingEvents { occurredAt description location } } userErrors { field code }
  }
}
"""
IMPORT = """
mutation($input: ImportTrackingNumbersInput!) {
  importTrackingNumbers(input: $input) { rows applied rejected { line column code } userErrors { code } }
}
"""
ORDER_SHIPMENTS = """
query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id shipments { id status } } } }
"""


async def _shipment(
    client: httpx.AsyncClient, token: str, store: uuid.UUID, skus: list[uuid.UUID], **extra: Any
) -> dict[str, Any]:
    order_id = extra.pop("orderId", str(uuid.uuid4()))
    body = await gql(
        client,
        token,
        CREATE,
        {
            "input": {
                "orderId": order_id,
                "storeId": str(store),
                "lines": [{"skuId": str(s), "quantity": 2} for s in skus],
                **extra,
            }
        },
    )
    shipment: dict[str, Any] = body["data"]["createShipment"]["shipment"]
    return shipment


async def _call(
    client: httpx.AsyncClient, token: str, query: str, name: str, **input: Any
) -> dict[str, Any]:
    body = await gql(client, token, query, {"input": input})
    result: dict[str, Any] = body["data"][name]
    return result


async def test_courier_shipment_goes_from_pending_to_confirmed(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=0)
    token = await tenant.token("store_manager")
    shipment = await _shipment(client, token, shop.store_id, shop.sku_ids[:1], carrier="SF")
    for status in ("PREPARING", "READY", "SHIPPED", "DELIVERED", "CONFIRMED"):
        moved = await _call(
            client, token, STATUS, "setShipmentStatus", shipmentId=shipment["id"], status=status
        )
        assert moved["shipment"]["status"] == status
    back = await _call(
        client, token, STATUS, "setShipmentStatus", shipmentId=shipment["id"], status="SHIPPED"
    )
    assert back["userErrors"] == [{"field": ["input", "status"], "code": "INVALID_TRANSITION"}]
    changes = await events(db, tenant.id, "fulfillment.shipment_status_changed")
    assert [e["status"] for e in changes] == [
        "PREPARING",
        "READY",
        "SHIPPED",
        "DELIVERED",
        "CONFIRMED",
    ]


async def test_ready_pickup_notifies_with_its_code_and_is_picked_up(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=0)
    token = await tenant.token("cashier")
    shipment = await _shipment(
        client, await tenant.token("store_manager"), shop.store_id, shop.sku_ids[:1]
    )
    ready = await _call(
        client, token, STATUS, "setShipmentStatus", shipmentId=shipment["id"], status="READY"
    )
    assert ready["shipment"]["status"] == "READY"
    notice = (await events(db, tenant.id, "fulfillment.shipment_status_changed"))[-1]
    assert notice["status"] == "READY" and notice["pickup_code"] == shipment["pickupCode"]
    shipped = await _call(
        client, token, STATUS, "setShipmentStatus", shipmentId=shipment["id"], status="SHIPPED"
    )
    assert shipped["userErrors"][0]["code"] == "INVALID_TRANSITION"  # nothing to ship with
    done = await _call(
        client, token, STATUS, "setShipmentStatus", shipmentId=shipment["id"], status="PICKED_UP"
    )
    assert done["shipment"]["status"] == "PICKED_UP"


async def test_rider_progress_ships_and_delivers(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=0)
    token = await tenant.token("store_manager")
    shipment = await _shipment(
        client, token, shop.store_id, shop.sku_ids[:1], carrier="meituan_rider"
    )
    sid = shipment["id"]
    assigned = await _call(
        client,
        token,
        RIDER,
        "updateRider",
        shipmentId=sid,
        status="ASSIGNED",
        riderName="王师傅",
        riderPhone="+8613800000000",
    )
    assert assigned["shipment"]["riderStatus"] == "ASSIGNED"
    early = await _call(client, token, RIDER, "updateRider", shipmentId=sid, status="DELIVERED")
    assert early["userErrors"][0]["code"] == "INVALID_TRANSITION"
    for status, shipment_status in (
        ("AT_STORE", "PENDING"),
        ("PICKED_UP", "SHIPPED"),
        ("DELIVERED", "DELIVERED"),
    ):
        moved = await _call(client, token, RIDER, "updateRider", shipmentId=sid, status=status)
        assert (moved["shipment"]["riderStatus"], moved["shipment"]["status"]) == (
            status,
            shipment_status,
        )
    assert moved["shipment"]["riderName"] == "王师傅"
    assert len(await events(db, tenant.id, "fulfillment.rider_updated")) == 4


async def test_split_moves_quantities_into_a_new_package(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=0)
    token = await tenant.token("store_manager")
    shipment = await _shipment(client, token, shop.store_id, shop.sku_ids[:2], carrier="SF")
    result = await _call(
        client,
        token,
        SPLIT,
        "splitShipment",
        shipmentId=shipment["id"],
        lines=[{"lineNo": 1, "quantity": 1}, {"lineNo": 2, "quantity": 2}],
    )
    assert [(x["lineNo"], x["quantity"]) for x in result["shipment"]["lines"]] == [(1, 1)]
    assert [(x["sku"]["id"], x["quantity"]) for x in result["newShipment"]["lines"]] == [
        (str(shop.sku_ids[0]), 1),
        (str(shop.sku_ids[1]), 2),
    ]
    everything = await _call(
        client,
        token,
        SPLIT,
        "splitShipment",
        shipmentId=shipment["id"],
        lines=[{"lineNo": 1, "quantity": 1}],
    )
    assert everything["userErrors"][0]["code"] == "INVALID_SPLIT"


async def test_merge_puts_two_orders_in_one_package(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=0)
    token = await tenant.token("store_manager")
    first = await _shipment(client, token, shop.store_id, shop.sku_ids[:1], carrier="SF")
    second = await _shipment(client, token, shop.store_id, shop.sku_ids[1:2], carrier="SF")
    merged = await _call(
        client, token, MERGE, "mergeShipments", shipmentIds=[first["id"], second["id"]]
    )
    assert merged["shipment"]["id"] == first["id"]
    orders = {x["order"]["id"] for x in merged["shipment"]["lines"]}
    assert orders == {first["lines"][0]["order"]["id"], second["lines"][0]["order"]["id"]}
    reps = [{"__typename": "Order", "id": o} for o in sorted(orders)]
    read = await gql(
        client, token, ORDER_SHIPMENTS, {"r": reps}, path="/subgraphs/fulfillment/graphql"
    )
    for entity in read["data"]["_entities"]:
        assert [s["id"] for s in entity["shipments"]] == [first["id"]]  # the merged one is gone
    pickup = await _shipment(client, token, shop.store_id, shop.sku_ids[:1])
    refused = await _call(
        client, token, MERGE, "mergeShipments", shipmentIds=[first["id"], pickup["id"]]
    )
    assert refused["userErrors"][0]["code"] == "INVALID_MERGE"


async def test_tracking_events_are_kept_once_and_in_order(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=0)
    token = await tenant.token("store_manager")
    shipment = await _shipment(
        client, token, shop.store_id, shop.sku_ids[:1], carrier="SF", trackingNumber="SF1234567"
    )
    events_in = [
        {"occurredAt": "2026-11-25T10:00:00+08:00", "description": "已揽收", "location": "上海"},
        {"occurredAt": "2026-11-25T08:00:00+08:00", "description": "已下单"},
    ]
    first = await _call(
        client, token, TRACK, "recordTrackingEvents", shipmentId=shipment["id"], events=events_in
    )
    again = await _call(
        client, token, TRACK, "recordTrackingEvents", shipmentId=shipment["id"], events=events_in
    )
    assert (first["added"], again["added"]) == (2, 0)
    assert [e["description"] for e in again["shipment"]["trackingEvents"]] == ["已下单", "已揽收"]
    naive = await _call(
        client,
        token,
        TRACK,
        "recordTrackingEvents",
        shipmentId=shipment["id"],
        events=[{"occurredAt": "2026-11-25T10:00:00", "description": "x"}],
    )
    assert naive["userErrors"][0]["code"] == "INVALID_TIME"


async def test_tracking_numbers_import_by_csv(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=0)
    token = await tenant.token("store_manager")
    by_id = await _shipment(client, token, shop.store_id, shop.sku_ids[:1], carrier="SF")
    order_id = str(uuid.uuid4())
    await _shipment(client, token, shop.store_id, shop.sku_ids[:1], carrier="YTO", orderId=order_id)
    csv = (
        "shipment_id,order_id,carrier,tracking_number\n"
        f"{by_id['id']},,SF,SF0001\n"
        f",{order_id},YTO,YT0002\n"
        f",{uuid.uuid4()},YTO,YT0003\n"
        f"{by_id['id']},,SF,bad number!\n"
    )
    report = await _call(client, token, IMPORT, "importTrackingNumbers", csv=csv)
    assert (report["rows"], report["applied"]) == (4, 2)
    assert report["rejected"] == [
        {"line": 4, "column": "order_id", "code": "SHIPMENT_NOT_FOUND"},
        {"line": 5, "column": "tracking_number", "code": "INVALID_TRACKING_NUMBER"},
    ]
    read = await gql(
        client,
        token,
        "query($id: ID!) { shipment(id: $id) { status trackingNumber } }",
        {"id": by_id["id"]},
    )
    assert read["data"]["shipment"] == {"status": "SHIPPED", "trackingNumber": "SF0001"}
    missing = await _call(client, token, IMPORT, "importTrackingNumbers", csv="id,number\n1,2\n")
    assert missing["userErrors"] == [{"code": "MISSING_COLUMN"}]


async def test_assigning_a_carrier_to_a_pickup_frees_its_code(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=0)
    token = await tenant.token("store_manager")
    pickup = await _shipment(client, token, shop.store_id, shop.sku_ids[:1])
    assert pickup["pickupCode"] is not None
    moved = await _call(
        client,
        token,
        CARRIER,
        "assignCarrier",
        shipmentId=pickup["id"],
        carrier="SF",
        trackingNumber="SF9999",
        markShipped=True,
    )
    assert (moved["shipment"]["status"], moved["shipment"]["pickupCode"]) == ("SHIPPED", None)


async def test_pickup_points_are_delivery_addresses(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=0)
    admin = await tenant.token("tenant_admin")
    created = await gql(
        client,
        admin,
        "mutation($i: CreatePickupPointInput!) { createPickupPoint(input: $i) { pickupPoint { id name } userErrors { code } } }",
        {
            "i": {
                "code": "LOCKER-7",
                "name": "Locker 7",
                "address": "7 Nanjing Rd",
                "storeId": str(shop.store_id),
            }
        },
    )
    point = created["data"]["createPickupPoint"]["pickupPoint"]
    listed = await gql(
        client,
        await tenant.token("customer"),
        "{ pickupPoints(first: 5) { edges { node { name address store { id } } } } }",
    )
    assert listed["data"]["pickupPoints"]["edges"] == [
        {
            "node": {
                "name": "Locker 7",
                "address": "7 Nanjing Rd",
                "store": {"id": str(shop.store_id)},
            }
        }
    ]
    shipment = await _shipment(
        client, admin, shop.store_id, shop.sku_ids[:1], carrier="SF", pickupPointId=point["id"]
    )
    read = await gql(
        client,
        admin,
        "query($id: ID!) { shipment(id: $id) { pickupPoint { name } } }",
        {"id": shipment["id"]},
    )
    assert read["data"]["shipment"]["pickupPoint"] == {"name": "Locker 7"}
    unknown = await gql(
        client,
        admin,
        CREATE,
        {
            "input": {
                "orderId": str(uuid.uuid4()),
                "storeId": str(shop.store_id),
                "pickupPointId": str(uuid.uuid4()),
            }
        },
    )
    assert unknown["data"]["createShipment"]["userErrors"][0]["code"] == "PICKUP_POINT_NOT_FOUND"
    again = await gql(
        client,
        admin,
        "mutation($i: CreatePickupPointInput!) { createPickupPoint(input: $i) { userErrors { code } } }",
        {"i": {"code": "LOCKER-7", "name": "Dup", "address": "x"}},
    )
    assert again["data"]["createPickupPoint"]["userErrors"] == [{"code": "CODE_TAKEN"}]
