"""Roles held at one store, through the public API: a store's staff read and move on the
shipments that store ships; another store's, or an unknown id, answers FORBIDDEN.
Fields whose store the fulfillment center cannot vouch for stay tenant-wide."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.builders import Shop, open_shop
from tests.conftest import TenantFixture, gql

FIELDS = "id status carrier trackingNumber riderStatus lines { lineNo quantity }"
CREATE = f"""
mutation($input: CreateShipmentInput!) {{
  createShipment(input: $input) {{ shipment {{ {FIELDS} }} userErrors {{ field code }} }}
}}
"""
READ = f"query($id: ID!) {{ shipment(id: $id) {{ {FIELDS} }} }}"
STATUS = f"""
mutation($input: SetShipmentStatusInput!) {{
  setShipmentStatus(input: $input) {{ shipment {{ {FIELDS} }} userErrors {{ field code }} }}
}}
"""
RIDER = f"""
mutation($input: UpdateRiderInput!) {{
  updateRider(input: $input) {{ shipment {{ {FIELDS} }} userErrors {{ field code }} }}
}}
"""
CARRIER = f"""
mutation($input: AssignCarrierInput!) {{
  assignCarrier(input: $input) {{ shipment {{ {FIELDS} }} userErrors {{ field code }} }}
}}
"""
SPLIT = f"""
mutation($input: SplitShipmentInput!) {{
  splitShipment(input: $input) {{
    shipment {{ {FIELDS} }} newShipment {{ {FIELDS} }} userErrors {{ field code }}
  }}
}}
"""
MERGE = f"""
mutation($input: MergeShipmentsInput!) {{
  mergeShipments(input: $input) {{ shipment {{ {FIELDS} }} userErrors {{ field code }} }}
}}
"""
TRACK = """
mutation($input: RecordTrackingEventsInput!) {
  recordTrackingEvents(input: $input) { added userErrors { field code } }
}
"""
IMPORT = """
mutation($input: ImportTrackingNumbersInput!) {
  importTrackingNumbers(input: $input) { rows applied userErrors { code } }
}
"""
DISPATCH_ORDER = """
mutation($input: DispatchOrderInput!) {
  dispatchOrder(input: $input) { dispatch { orderId } userErrors { field code } }
}
"""
DISPATCH = "query($id: ID!) { dispatch(orderId: $id) { orderId } }"
VIA_SHIPMENT = """
query($id: ID!) { shipment(id: $id) { id order { id shipments { id } dispatch { orderId } } } }
"""
PICKUP_POINTS = "{ pickupPoints(first: 5) { edges { node { id } } } }"


@dataclass
class TwoStores:
    a: Shop
    b: Shop
    admin: str


async def _two_stores(tenant: TenantFixture) -> TwoStores:
    return TwoStores(
        a=await open_shop(tenant, stock=0),
        b=await open_shop(tenant, stock=0),
        admin=await tenant.token("tenant_admin"),
    )


async def _shipment(
    client: httpx.AsyncClient, token: str, shop: Shop, **extra: Any
) -> dict[str, Any]:
    order_id = extra.pop("orderId", str(uuid.uuid4()))
    body = await gql(
        client,
        token,
        CREATE,
        {
            "input": {
                "orderId": order_id,
                "storeId": str(shop.store_id),
                "lines": [{"skuId": str(s), "quantity": 2} for s in shop.sku_ids[:2]],
                **extra,
            }
        },
    )
    assert body["data"]["createShipment"]["userErrors"] == [], body
    shipment: dict[str, Any] = body["data"]["createShipment"]["shipment"]
    return shipment


async def _call(
    client: httpx.AsyncClient, token: str, query: str, name: str, **input: Any
) -> dict[str, Any]:
    body = await gql(client, token, query, {"input": input})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"][name]
    assert result["userErrors"] == [], result
    return result


def _forbidden(body: dict[str, Any]) -> None:
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    # Nothing answered: the whole data for a non-null field, the field itself otherwise.
    assert body["data"] is None or all(v is None for v in body["data"].values()), body


async def _status(client: httpx.AsyncClient, admin: str, shipment_id: str) -> str:
    body = await gql(client, admin, READ, {"id": shipment_id})
    status: str = body["data"]["shipment"]["status"]
    return status


async def test_cashier_at_a_progresses_a_shipment_and_not_b(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    s = await _two_stores(tenant)
    at_a = await _shipment(client, s.admin, s.a)
    at_b = await _shipment(client, s.admin, s.b)
    cashier = await tenant.store_token("cashier", s.a.store_id)

    read = await gql(client, cashier, READ, {"id": at_a["id"]})
    assert read["data"]["shipment"]["id"] == at_a["id"]
    moved = await _call(
        client, cashier, STATUS, "setShipmentStatus", shipmentId=at_a["id"], status="READY"
    )
    assert moved["shipment"]["status"] == "READY"

    _forbidden(await gql(client, cashier, READ, {"id": at_b["id"]}))
    _forbidden(
        await gql(client, cashier, STATUS, {"input": {"shipmentId": at_b["id"], "status": "READY"}})
    )
    assert await _status(client, s.admin, at_b["id"]) == "PENDING"
    # A cashier at A moves shipments on but does not manage them, even at A.
    _forbidden(
        await gql(client, cashier, CARRIER, {"input": {"shipmentId": at_a["id"], "carrier": "SF"}})
    )


async def test_unknown_or_malformed_shipments_are_forbidden_not_revealed(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    s = await _two_stores(tenant)
    cashier = await tenant.store_token("cashier", s.a.store_id)
    for shipment_id in (str(uuid.uuid4()), "not-an-id"):
        _forbidden(await gql(client, cashier, READ, {"id": shipment_id}))
        _forbidden(
            await gql(
                client,
                cashier,
                STATUS,
                {"input": {"shipmentId": shipment_id, "status": "READY"}},
            )
        )
    # A tenant-wide caller is told it is not there, as before.
    missing = await gql(client, s.admin, READ, {"id": str(uuid.uuid4())})
    assert missing["data"]["shipment"] is None and "errors" not in missing
    gone = await gql(
        client, s.admin, STATUS, {"input": {"shipmentId": str(uuid.uuid4()), "status": "READY"}}
    )
    assert gone["data"]["setShipmentStatus"]["userErrors"][0]["code"] == "SHIPMENT_NOT_FOUND"


async def test_rider_updates_at_a_only(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    s = await _two_stores(tenant)
    at_a = await _shipment(client, s.admin, s.a, carrier="meituan_rider")
    at_b = await _shipment(client, s.admin, s.b, carrier="meituan_rider")
    cashier = await tenant.store_token("cashier", s.a.store_id)
    assigned = await _call(
        client, cashier, RIDER, "updateRider", shipmentId=at_a["id"], status="ASSIGNED"
    )
    assert assigned["shipment"]["riderStatus"] == "ASSIGNED"
    _forbidden(
        await gql(
            client, cashier, RIDER, {"input": {"shipmentId": at_b["id"], "status": "ASSIGNED"}}
        )
    )
    read_b = await gql(client, s.admin, READ, {"id": at_b["id"]})
    assert read_b["data"]["shipment"]["riderStatus"] is None


async def test_manager_at_a_manages_a_shipments(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    s = await _two_stores(tenant)
    manager = await tenant.store_token("store_manager", s.a.store_id)
    at_a = await _shipment(client, s.admin, s.a, carrier="SF")
    at_b = await _shipment(client, s.admin, s.b, carrier="SF")

    carried = await _call(
        client,
        manager,
        CARRIER,
        "assignCarrier",
        shipmentId=at_a["id"],
        carrier="SF",
        trackingNumber="SF100",
    )
    assert carried["shipment"]["trackingNumber"] == "SF100"
    _forbidden(
        await gql(
            client,
            manager,
            CARRIER,
            {"input": {"shipmentId": at_b["id"], "carrier": "SF", "trackingNumber": "SF200"}},
        )
    )

    split = await _call(
        client,
        manager,
        SPLIT,
        "splitShipment",
        shipmentId=at_a["id"],
        lines=[{"lineNo": 2, "quantity": 2}],
    )
    assert [x["lineNo"] for x in split["shipment"]["lines"]] == [1]
    _forbidden(
        await gql(
            client,
            manager,
            SPLIT,
            {"input": {"shipmentId": at_b["id"], "lines": [{"lineNo": 2, "quantity": 2}]}},
        )
    )
    assert (
        len((await gql(client, s.admin, READ, {"id": at_b["id"]}))["data"]["shipment"]["lines"])
        == 2
    )

    event = {"occurredAt": "2026-11-25T08:00:00Z", "description": "collected"}
    tracked = await _call(
        client, manager, TRACK, "recordTrackingEvents", shipmentId=at_a["id"], events=[event]
    )
    assert tracked["added"] == 1
    _forbidden(
        await gql(client, manager, TRACK, {"input": {"shipmentId": at_b["id"], "events": [event]}})
    )


async def test_merge_checks_every_shipment(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    s = await _two_stores(tenant)
    manager = await tenant.store_token("store_manager", s.a.store_id)
    first = await _shipment(client, s.admin, s.a)
    second = await _shipment(client, s.admin, s.a)
    mine = [await _shipment(client, s.admin, s.a), await _shipment(client, s.admin, s.a)]
    theirs = await _shipment(client, s.admin, s.b)

    merged = await _call(
        client, manager, MERGE, "mergeShipments", shipmentIds=[x["id"] for x in mine]
    )
    assert len(merged["shipment"]["lines"]) == 4
    # One of B's among them: refused as a whole, nothing merged.
    mixed = [first["id"], theirs["id"]]
    _forbidden(await gql(client, manager, MERGE, {"input": {"shipmentIds": mixed}}))
    unknown = [first["id"], str(uuid.uuid4())]
    _forbidden(await gql(client, manager, MERGE, {"input": {"shipmentIds": unknown}}))
    assert await _status(client, s.admin, first["id"]) == "PENDING"
    assert await _status(client, s.admin, theirs["id"]) == "PENDING"
    assert await _status(client, s.admin, second["id"]) == "PENDING"


async def test_fields_without_a_known_store_stay_tenant_wide(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    s = await _two_stores(tenant)
    manager = await tenant.store_token("store_manager", s.a.store_id)
    order_id = str(uuid.uuid4())
    # createShipment names a store, but not whose order it ships: tenant-wide only.
    _forbidden(
        await gql(
            client,
            manager,
            CREATE,
            {
                "input": {
                    "orderId": order_id,
                    "storeId": str(s.a.store_id),
                    "lines": [{"skuId": str(s.a.sku_ids[0]), "quantity": 1}],
                }
            },
        )
    )
    lines = [{"skuId": str(s.a.sku_ids[0]), "quantity": 1}]
    _forbidden(
        await gql(
            client,
            manager,
            DISPATCH_ORDER,
            {"input": {"orderId": order_id, "storeId": str(s.a.store_id), "lines": lines}},
        )
    )
    _forbidden(await gql(client, manager, DISPATCH, {"id": order_id}))
    csv = "shipment_id,carrier,tracking_number\n"
    _forbidden(await gql(client, manager, IMPORT, {"input": {"csv": csv}}))
    # Pickup points are shared: every store's staff read them.
    points = await gql(client, manager, PICKUP_POINTS)
    assert points["data"]["pickupPoints"]["edges"] == []


async def test_tenant_wide_and_two_store_roles_reach_both_stores(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    s = await _two_stores(tenant)
    both = await tenant.store_token("cashier", s.a.store_id, s.b.store_id)
    wide = await tenant.token("cashier")
    for token in (both, wide):
        for shop in (s.a, s.b):
            shipment = await _shipment(client, s.admin, shop)
            read = await gql(client, token, READ, {"id": shipment["id"]})
            assert read["data"]["shipment"]["status"] == "PENDING"
            moved = await _call(
                client,
                token,
                STATUS,
                "setShipmentStatus",
                shipmentId=shipment["id"],
                status="PREPARING",
            )
            assert moved["shipment"]["status"] == "PREPARING"


async def test_an_order_reached_through_a_shipment_shows_the_held_stores_only(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    s = await _two_stores(tenant)
    order_id = str(uuid.uuid4())
    # One order shipped partly from A, partly from B (a split dispatch).
    at_a = await _shipment(client, s.admin, s.a, orderId=order_id)
    at_b = await _shipment(client, s.admin, s.b, orderId=order_id)
    cashier = await tenant.store_token("cashier", s.a.store_id)

    body = await gql(client, cashier, VIA_SHIPMENT, {"id": at_a["id"]})
    order = body["data"]["shipment"]["order"]
    assert order["id"] == order_id and order["shipments"] == [{"id": at_a["id"]}]
    # The plan names every location: the dispatch root field's tenant-wide rule holds.
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
        ("FORBIDDEN", ["shipment", "order", "dispatch"])
    ]
    assert order["dispatch"] is None

    every = await gql(client, s.admin, VIA_SHIPMENT, {"id": at_a["id"]})
    assert "errors" not in every
    assert {x["id"] for x in every["data"]["shipment"]["order"]["shipments"]} == {
        at_a["id"],
        at_b["id"],
    }
