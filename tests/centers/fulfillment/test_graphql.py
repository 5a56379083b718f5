"""The fulfillment subgraph through the public API and its subgraph endpoint."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from centers.fulfillment.service import shipments as service
from centers.store import api as store_api
from kernel.db import Database
from tests.conftest import TenantFixture, gql
from tests.sql_statements import count_rows, selects_from

CREATE = """
mutation($input: CreateShipmentInput!) {
  createShipment(input: $input) {
    shipment { id status carrier trackingNumber pickupCode order { id } store { id } }
    userErrors { field message code }
  }
}
"""
ONE = """
query($id: ID!) { shipment(id: $id) { id status pickupCode store { id name } } }
"""
ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Shipment { id status }
    ... on Order { id shipments { id } }
  }
}
"""
SUBGRAPH = "/subgraphs/fulfillment/graphql"


async def open_store(tenant: TenantFixture) -> uuid.UUID:
    async with tenant.runtime.db.unit_of_work() as session:
        store = await store_api.create_store(
            session,
            tenant.id,
            code=f"S-{secrets.token_hex(3)}",
            name="人民广场店",
            timezone="Asia/Shanghai",
        )
    return store.id


def shipment_input(
    store_id: uuid.UUID | str, order_id: uuid.UUID | str | None = None, **overrides: Any
) -> dict[str, Any]:
    values = {"orderId": str(order_id or uuid.uuid4()), "storeId": str(store_id)}
    return {"input": {**values, **overrides}}


async def create(
    client: httpx.AsyncClient, token: str, variables: dict[str, Any]
) -> dict[str, Any]:
    body = await gql(client, token, CREATE, variables)
    payload: dict[str, Any] = body["data"]["createShipment"]
    return payload


async def entities(
    client: httpx.AsyncClient, token: str, representations: list[dict[str, str]]
) -> dict[str, Any]:
    return await gql(client, token, ENTITIES, {"representations": representations}, path=SUBGRAPH)


async def shipment_count(db: Database, tenant: TenantFixture) -> int:
    return await count_rows(db, "fulfillment.shipment", tenant.id)


async def test_manager_creates_a_courier_shipment(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    store_id = await open_store(tenant)
    token = await tenant.token("store_manager")
    order_id = uuid.uuid4()
    payload = await create(
        client,
        token,
        shipment_input(store_id, order_id, carrier="SF", trackingNumber="SF1234567890"),
    )
    assert payload["userErrors"] == []
    shipment = payload["shipment"]
    assert shipment["status"] == "PENDING"
    assert (shipment["carrier"], shipment["trackingNumber"]) == ("SF", "SF1234567890")
    assert shipment["pickupCode"] is None
    assert shipment["order"] == {"id": str(order_id)}
    assert shipment["store"] == {"id": str(store_id)}


async def test_courier_shipment_may_wait_for_its_tracking_number(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    store_id = await open_store(tenant)
    token = await tenant.token("store_manager")
    payload = await create(client, token, shipment_input(store_id, carrier="DADA"))
    assert payload["userErrors"] == []
    assert payload["shipment"]["trackingNumber"] is None
    assert payload["shipment"]["pickupCode"] is None


async def test_pickup_shipment_gets_a_four_digit_pickup_code(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    store_id = await open_store(tenant)
    token = await tenant.token("tenant_admin")
    shipment = (await create(client, token, shipment_input(store_id)))["shipment"]
    assert shipment["carrier"] is None
    code = shipment["pickupCode"]
    assert len(code) == 4 and code.isdigit()


async def test_open_pickups_of_a_store_never_share_a_code(
    client: httpx.AsyncClient, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_id = await open_store(tenant)
    token = await tenant.token("store_manager")
    drawn = iter(["0042", "0042", "0042", "0777"])
    monkeypatch.setattr(service, "new_pickup_code", lambda: next(drawn))
    first = (await create(client, token, shipment_input(store_id)))["shipment"]
    second = (await create(client, token, shipment_input(store_id)))["shipment"]
    assert (first["pickupCode"], second["pickupCode"]) == ("0042", "0777")


async def test_pickup_code_is_free_again_once_picked_up(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_id = await open_store(tenant)
    token = await tenant.token("store_manager")
    monkeypatch.setattr(service, "new_pickup_code", lambda: "0042")
    first = (await create(client, token, shipment_input(store_id)))["shipment"]
    async with db.unit_of_work() as session:
        await session.execute(
            sa.text(
                "UPDATE fulfillment.shipment SET status = 'PICKED_UP'"
                " WHERE tenant_id = :t AND id = :id"
            ),
            {"t": tenant.id, "id": first["id"]},
        )
    second = (await create(client, token, shipment_input(store_id)))["shipment"]
    assert second["pickupCode"] == "0042"


async def test_store_out_of_pickup_codes_is_a_conflict(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_id = await open_store(tenant)
    token = await tenant.token("store_manager")
    monkeypatch.setattr(service, "new_pickup_code", lambda: "0042")
    await create(client, token, shipment_input(store_id))
    refused = await gql(client, token, CREATE, shipment_input(store_id))
    assert refused["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert await shipment_count(db, tenant) == 1


async def test_creating_a_shipment_writes_an_outbox_event(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    store_id = await open_store(tenant)
    token = await tenant.token("tenant_admin")
    shipment = (await create(client, token, shipment_input(store_id)))["shipment"]
    async with db.unit_of_work() as session:
        events = (
            await session.execute(
                sa.text(
                    "SELECT topic, payload FROM kernel.outbox_event"
                    " WHERE tenant_id = :t AND aggregate_id = :a"
                ),
                {"t": tenant.id, "a": shipment["id"]},
            )
        ).all()
    assert [e.topic for e in events] == ["fulfillment.shipment_created"]
    assert events[0].payload["pickup_code"] == shipment["pickupCode"]


async def test_cashier_reads_a_shipment_with_its_store(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    store_id = await open_store(tenant)
    manager = await tenant.token("store_manager")
    shipment = (await create(client, manager, shipment_input(store_id)))["shipment"]
    cashier = await tenant.token("cashier")
    body = await gql(client, cashier, ONE, {"id": shipment["id"]})
    assert body["data"]["shipment"] == {
        "id": shipment["id"],
        "status": "PENDING",
        "pickupCode": shipment["pickupCode"],
        "store": {"id": str(store_id), "name": "人民广场店"},  # resolved by the store center
    }


async def test_shipments_of_many_orders_load_in_one_query(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    store_id = await open_store(tenant)
    token = await tenant.token("store_manager")
    order_ids = [uuid.uuid4() for _ in range(4)]
    for order_id in order_ids:
        await create(client, token, shipment_input(store_id, order_id, carrier="SF"))
    await create(client, token, shipment_input(store_id, order_ids[0], carrier="JD"))
    representations = [{"__typename": "Order", "id": str(i)} for i in order_ids]
    with selects_from(db, "fulfillment.shipment") as selects:
        body = await entities(client, token, representations)
    assert [len(o["shipments"]) for o in body["data"]["_entities"]] == [2, 1, 1, 1]
    assert len(selects) == 1


async def test_malformed_ids_are_invalid_id(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    store_id = await open_store(tenant)
    token = await tenant.token("store_manager")
    bad_order = await create(client, token, shipment_input(store_id, order_id="A-1"))
    bad_store = await create(client, token, shipment_input("store-1"))
    assert bad_order["userErrors"] == [
        {"field": ["input", "orderId"], "message": "'A-1' is not a valid id", "code": "INVALID_ID"}
    ]
    assert [(e["code"], e["field"]) for e in bad_store["userErrors"]] == [
        ("INVALID_ID", ["input", "storeId"])
    ]
    assert await shipment_count(db, tenant) == 0


async def test_another_tenants_store_is_invalid_id(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture, db: Database
) -> None:
    foreign_store = await open_store(other_tenant)
    token = await tenant.token("store_manager")
    payload = await create(client, token, shipment_input(foreign_store))
    assert payload["shipment"] is None
    assert payload["userErrors"] == [
        {"field": ["input", "storeId"], "message": "unknown store", "code": "INVALID_ID"}
    ]
    assert await shipment_count(db, tenant) == 0


async def test_malformed_carrier_is_invalid_carrier(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    store_id = await open_store(tenant)
    token = await tenant.token("store_manager")
    payload = await create(client, token, shipment_input(store_id, carrier="顺丰 express"))
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_CARRIER", ["input", "carrier"])
    ]


async def test_malformed_tracking_number_is_invalid(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    store_id = await open_store(tenant)
    token = await tenant.token("store_manager")
    payload = await create(
        client, token, shipment_input(store_id, carrier="SF", trackingNumber="SF 12")
    )
    assert payload["shipment"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_TRACKING_NUMBER", ["input", "trackingNumber"])
    ]
    assert await shipment_count(db, tenant) == 0


async def test_tracking_number_without_carrier_is_invalid(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    store_id = await open_store(tenant)
    token = await tenant.token("store_manager")
    payload = await create(client, token, shipment_input(store_id, trackingNumber="SF123456"))
    assert payload["userErrors"] == [
        {
            "field": ["input", "trackingNumber"],
            "message": "a tracking number needs a carrier",
            "code": "INVALID_TRACKING_NUMBER",
        }
    ]


async def test_cashier_cannot_create_shipments(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    store_id = await open_store(tenant)
    token = await tenant.token("cashier")
    denied = await gql(client, token, CREATE, shipment_input(store_id))
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await shipment_count(db, tenant) == 0


async def test_customer_cannot_read_shipments(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    store_id = await open_store(tenant)
    manager = await tenant.token("store_manager")
    order_id = uuid.uuid4()
    shipment = (await create(client, manager, shipment_input(store_id, order_id)))["shipment"]
    customer = await tenant.token("customer")
    by_id = await gql(client, customer, ONE, {"id": shipment["id"]})
    by_order = await entities(client, customer, [{"__typename": "Order", "id": str(order_id)}])
    assert by_id["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert by_id["data"] == {"shipment": None}
    assert by_order["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert by_order["data"] is None


async def test_other_tenant_cannot_read_shipments(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    store_id = await open_store(tenant)
    manager = await tenant.token("store_manager")
    order_id = uuid.uuid4()
    shipment = (await create(client, manager, shipment_input(store_id, order_id)))["shipment"]
    intruder = await other_tenant.token("tenant_admin")
    by_id = await gql(client, intruder, ONE, {"id": shipment["id"]})
    referenced = await entities(
        client,
        intruder,
        [
            {"__typename": "Shipment", "id": shipment["id"]},
            {"__typename": "Order", "id": str(order_id)},
        ],
    )
    assert by_id["data"]["shipment"] is None
    assert referenced["data"]["_entities"] == [None, None]  # neither is theirs


async def test_subgraph_resolves_shipment_references(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    store_id = await open_store(tenant)
    token = await tenant.token("store_manager")
    shipment = (await create(client, token, shipment_input(store_id)))["shipment"]
    body = await entities(client, token, [{"__typename": "Shipment", "id": shipment["id"]}])
    assert body["data"]["_entities"] == [{"id": shipment["id"], "status": "PENDING"}]
