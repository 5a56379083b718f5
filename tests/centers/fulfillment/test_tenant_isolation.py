"""Another brand's shipments, pickup points and dispatch plans behave as if absent."""

from __future__ import annotations

import uuid

import httpx

from tests.builders import open_shop
from tests.conftest import TenantFixture, gql


async def test_another_brands_fulfillment_is_out_of_reach(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    theirs = await open_shop(other_tenant, stock=5)
    mine = await open_shop(tenant, stock=5)
    their_admin = await other_tenant.token("tenant_admin")
    token = await tenant.token("tenant_admin")
    shipment = await gql(
        client,
        their_admin,
        "mutation($i: CreateShipmentInput!) { createShipment(input: $i) { shipment { id } } }",
        {
            "i": {
                "orderId": str(uuid.uuid4()),
                "storeId": str(theirs.store_id),
                "carrier": "SF",
                "lines": [{"skuId": str(theirs.sku_ids[0]), "quantity": 1}],
            }
        },
    )
    their_shipment = shipment["data"]["createShipment"]["shipment"]["id"]
    point = await gql(
        client,
        their_admin,
        'mutation { createPickupPoint(input: {code: "P", name: "Theirs", address: "x"}) { pickupPoint { id } } }',
    )
    their_point = point["data"]["createPickupPoint"]["pickupPoint"]["id"]
    moved = await gql(
        client,
        token,
        "mutation($i: SetShipmentStatusInput!) { setShipmentStatus(input: $i) { userErrors { code } } }",
        {"i": {"shipmentId": their_shipment, "status": "CANCELLED"}},
    )
    assert moved["data"]["setShipmentStatus"]["userErrors"] == [{"code": "SHIPMENT_NOT_FOUND"}]
    tracked = await gql(
        client,
        token,
        "mutation($i: ImportTrackingNumbersInput!) { importTrackingNumbers(input: $i) { applied rejected { code } } }",
        {"i": {"csv": f"shipment_id,carrier,tracking_number\n{their_shipment},SF,SF1234\n"}},
    )
    assert tracked["data"]["importTrackingNumbers"] == {
        "applied": 0,
        "rejected": [{"code": "SHIPMENT_NOT_FOUND"}],
    }
    dispatch = await gql(
        client,
        token,
        "mutation($i: DispatchOrderInput!) { dispatchOrder(input: $i) { userErrors { code } } }",
        {
            "i": {
                "orderId": str(uuid.uuid4()),
                "pickupPointId": their_point,
                "lines": [{"skuId": str(mine.sku_ids[0]), "quantity": 1}],
            }
        },
    )
    assert dispatch["data"]["dispatchOrder"]["userErrors"] == [{"code": "PICKUP_POINT_NOT_FOUND"}]
    points = await gql(client, token, "{ pickupPoints { edges { node { id } } } }")
    assert points["data"]["pickupPoints"]["edges"] == []
    read = await gql(
        client, token, "query($id: ID!) { shipment(id: $id) { id } }", {"id": their_shipment}
    )
    assert read["data"]["shipment"] is None
