"""Booking couriers and syncing tracking through the tenant's carrier plugin
(``carrier-rest`` against its loopback emulator), through GraphQL."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from centers.fulfillment import carriers
from centers.fulfillment.service.courier import TRACK_SHIPMENT
from centers.store import integrations
from kernel.db import Database
from kernel.jobs import job_status, scheduled_job
from kernel.plugins.registry import PluginRegistry
from plugins.carrier.emulator import CarrierState, carrier_emulator
from plugins.carrier.plugin import MANIFEST
from plugins.emulation import LoopbackServer
from tests.builders import open_shop
from tests.centers.stock.arrange import events
from tests.conftest import TenantFixture, gql
from tests.kernel.dispatch.support import plugin_settings

CONFIGURE = """
mutation($settings: JSON!) {
  configurePlugin(input: {plugin: "carrier-rest", settings: $settings}) { userErrors { code } }
  enablePlugin(input: {plugin: "carrier-rest"}) { installation { enabled } userErrors { code } }
}
"""
CREATE = """
mutation($input: CreateShipmentInput!) {
  createShipment(input: $input) { shipment { id status pickupCode } userErrors { code } }
}
"""
BOOK = """
mutation($input: BookCourierInput!) {
  bookCourier(input: $input) {
    shipment { id status carrier trackingNumber pickupCode }
    booking { carrier trackingNumber fee { amount currency } estimatedPickupAt }
    userErrors { field code message }
  }
}
"""
SYNC = """
mutation($input: SyncShipmentTrackingInput!) {
  syncShipmentTracking(input: $input) {
    fetched added
    shipment { trackingEvents { occurredAt description location } }
    userErrors { field code message }
  }
}
"""
SHIPMENT = "query($id: ID!) { shipment(id: $id) { carrier trackingNumber pickupCode } }"
RECEIVER = {
    "receiverName": "Li Lei",
    "receiverPhone": "13800000000",
    "receiverAddress": "1 Nanjing Rd, Shanghai",
}
T0 = int(time.time()) - 3600


@pytest.fixture(autouse=True)
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # A hanging carrier is given up on after 0.3 s instead of the production 5 s.
    monkeypatch.setattr(
        carriers, "get_plugin_settings", lambda: plugin_settings(plugin_call_timeout_seconds=0.3)
    )


async def stop_following(db: Database) -> None:
    """Cancel the tracking rounds bookings scheduled: their emulator is gone after the
    test, and a later test that runs every tenant's due jobs must not meet them."""
    async with db.unit_of_work() as session:
        await session.execute(
            sa.update(scheduled_job)
            .where(scheduled_job.c.kind == TRACK_SHIPMENT, scheduled_job.c.status == "pending")
            .values(status="cancelled")
        )


@pytest.fixture
async def carrier(db: Database) -> AsyncIterator[tuple[LoopbackServer, CarrierState]]:
    server, state = carrier_emulator()
    try:
        async with server:
            yield server, state
    finally:
        await stop_following(db)


async def enable(
    client: httpx.AsyncClient, tenant: TenantFixture, server: LoopbackServer, **extra: Any
) -> None:
    settings = {
        "base_url": server.url,
        "app_key": "carrier-app",
        "app_secret": "carrier-secret",
        "shop_no": "SH-001",
        **extra,
    }
    body = await gql(client, await tenant.token("tenant_admin"), CONFIGURE, {"settings": settings})
    assert body["data"]["enablePlugin"]["installation"]["enabled"] is True, body


async def pickup_shipment(client: httpx.AsyncClient, tenant: TenantFixture, token: str) -> str:
    shop = await open_shop(tenant, stock=0)
    body = await gql(
        client,
        token,
        CREATE,
        {
            "input": {
                "orderId": str(uuid.uuid4()),
                "storeId": str(shop.store_id),
                "lines": [{"skuId": str(shop.sku_ids[0]), "quantity": 1}],
            }
        },
    )
    shipment: dict[str, Any] = body["data"]["createShipment"]["shipment"]
    assert shipment["pickupCode"]
    return str(shipment["id"])


async def book(
    client: httpx.AsyncClient, token: str, shipment_id: str, **extra: Any
) -> dict[str, Any]:
    body = await gql(
        client, token, BOOK, {"input": {"shipmentId": shipment_id, **RECEIVER, **extra}}
    )
    assert body["_status"] == 200 and "errors" not in body, body
    result: dict[str, Any] = body["data"]["bookCourier"]
    return result


async def sync(client: httpx.AsyncClient, token: str, shipment_id: str) -> dict[str, Any]:
    body = await gql(client, token, SYNC, {"input": {"shipmentId": shipment_id}})
    assert body["_status"] == 200 and "errors" not in body, body
    result: dict[str, Any] = body["data"]["syncShipmentTracking"]
    return result


async def stored(client: httpx.AsyncClient, token: str, shipment_id: str) -> dict[str, Any]:
    body = await gql(client, token, SHIPMENT, {"id": shipment_id})
    found: dict[str, Any] = body["data"]["shipment"]
    return found


async def test_booking_gives_the_shipment_the_carriers_number_once(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    carrier: tuple[LoopbackServer, CarrierState],
) -> None:
    server, state = carrier
    await enable(client, tenant, server)
    token = await tenant.token("store_manager")
    shipment_id = await pickup_shipment(client, tenant, token)

    first = await book(client, token, shipment_id)
    assert first["userErrors"] == []
    number = first["booking"]["trackingNumber"]
    assert first["shipment"] == {
        "id": shipment_id,
        "status": "PENDING",
        "carrier": "DADA",
        "trackingNumber": number,
        "pickupCode": None,  # a pickup turned delivery gives its counter code up
    }
    assert first["booking"]["fee"] == {"amount": 800, "currency": "CNY"}
    assert first["booking"]["estimatedPickupAt"]
    order = state.orders[shipment_id]
    assert (order.shop_no, order.receiver_phone) == ("SH-001", "13800000000")

    again = await book(client, token, shipment_id)
    assert again["userErrors"] == []
    assert again["booking"]["trackingNumber"] == number
    assert len(state.orders) == 1, "booking twice sends one courier"


async def test_a_lost_answer_is_retried_into_the_same_booking(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    carrier: tuple[LoopbackServer, CarrierState],
) -> None:
    server, state = carrier
    await enable(client, tenant, server)
    token = await tenant.token("store_manager")
    shipment_id = await pickup_shipment(client, tenant, token)

    server.faults.lose_ack_next(1)  # the carrier books, then its answer is lost
    lost = await book(client, token, shipment_id)
    assert [e["code"] for e in lost["userErrors"]] == ["CARRIER_UNAVAILABLE"]
    assert lost["shipment"] is None
    assert (await stored(client, token, shipment_id))["trackingNumber"] is None
    assert len(state.orders) == 1

    retried = await book(client, token, shipment_id)
    assert retried["booking"]["trackingNumber"] == state.orders[shipment_id].client_id
    assert len(state.orders) == 1


@pytest.mark.parametrize("fault", ["5xx", "hang", "down"])
async def test_a_failing_carrier_is_a_user_error_and_writes_nothing(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    db: Database,
    carrier: tuple[LoopbackServer, CarrierState],
    fault: str,
) -> None:
    server, state = carrier
    await enable(client, tenant, server)
    token = await tenant.token("store_manager")
    shipment_id = await pickup_shipment(client, tenant, token)
    before = await stored(client, token, shipment_id)
    if fault == "5xx":
        server.faults.fail_next(1, status=503)
    elif fault == "hang":
        server.faults.delay_next(1, 10.0)
    else:
        await server.stop()

    failed = await book(client, token, shipment_id)
    assert [(e["field"], e["code"]) for e in failed["userErrors"]] == [
        (["input", "shipmentId"], "CARRIER_UNAVAILABLE")
    ]
    assert failed["userErrors"][0]["message"].startswith("carrier-rest:")
    assert await stored(client, token, shipment_id) == before
    assert state.orders == {}
    assert await events(db, tenant.id, "fulfillment.shipment_status_changed") == []

    if fault == "down":
        await server.start()
    assert (await book(client, token, shipment_id))["booking"]["trackingNumber"]


async def test_tracking_sync_stores_each_event_once(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    carrier: tuple[LoopbackServer, CarrierState],
) -> None:
    server, state = carrier
    await enable(client, tenant, server)
    token = await tenant.token("store_manager")
    shipment_id = await pickup_shipment(client, tenant, token)
    number = (await book(client, token, shipment_id))["booking"]["trackingNumber"]

    nothing_yet = await sync(client, token, shipment_id)
    assert (nothing_yet["fetched"], nothing_yet["added"], nothing_yet["userErrors"]) == (0, 0, [])

    state.advance(number, "骑手已接单", None, T0)
    state.advance(number, "骑手已到店", "Store 1", T0 + 300)
    state.duplicate_tracks = state.shuffle_tracks = True
    first = await sync(client, token, shipment_id)
    assert (first["fetched"], first["added"], first["userErrors"]) == (2, 2, [])
    assert [e["description"] for e in first["shipment"]["trackingEvents"]] == [
        "骑手已接单",
        "骑手已到店",
    ]

    state.advance(number, "已送达", "1 Nanjing Rd", T0 + 1800)
    second = await sync(client, token, shipment_id)
    assert (second["fetched"], second["added"]) == (3, 1)
    history = second["shipment"]["trackingEvents"]
    assert [(e["description"], e["location"]) for e in history] == [
        ("骑手已接单", None),
        ("骑手已到店", "Store 1"),
        ("已送达", "1 Nanjing Rd"),
    ]

    server.faults.fail_next(1, status=502)
    failed = await sync(client, token, shipment_id)
    assert [e["code"] for e in failed["userErrors"]] == ["CARRIER_UNAVAILABLE"]
    assert (failed["fetched"], failed["added"], failed["shipment"]) == (0, 0, None)


async def test_bad_input_and_missing_plugin_are_user_errors(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    carrier: tuple[LoopbackServer, CarrierState],
) -> None:
    server, state = carrier
    token = await tenant.token("store_manager")
    shipment_id = await pickup_shipment(client, tenant, token)

    not_configured = await book(client, token, shipment_id)
    assert [e["code"] for e in not_configured["userErrors"]] == ["CARRIER_NOT_CONFIGURED"]
    not_booked = await sync(client, token, shipment_id)
    assert [e["code"] for e in not_booked["userErrors"]] == ["NOT_BOOKED"]

    await enable(client, tenant, server)
    cases = [
        ({"shipmentId": "nope"}, ["input", "shipmentId"], "INVALID_ID"),
        ({"shipmentId": str(uuid.uuid4())}, ["input", "shipmentId"], "SHIPMENT_NOT_FOUND"),
        ({"receiverPhone": "call me"}, ["input", "receiverPhone"], "INVALID_PHONE"),
        ({"receiverName": " "}, ["input", "receiverName"], "INVALID_NAME"),
        ({"receiverAddress": ""}, ["input", "receiverAddress"], "INVALID_ADDRESS"),
        ({"readyAt": "2026-01-01T10:00:00"}, ["input", "readyAt"], "INVALID_TIME"),
        ({"plugin": "crm-rest"}, ["input", "plugin"], "CARRIER_NOT_CONFIGURED"),
    ]
    for given, field, code in cases:
        answer = await book(client, token, shipment_id, **given)
        assert [(e["field"], e["code"]) for e in answer["userErrors"]] == [(field, code)], given
    assert state.orders == {}

    body = await gql(client, token, SYNC, {"input": {"shipmentId": str(uuid.uuid4())}})
    errors = body["data"]["syncShipmentTracking"]["userErrors"]
    assert [e["code"] for e in errors] == ["SHIPMENT_NOT_FOUND"]


async def test_a_shipment_that_left_cannot_be_booked(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    carrier: tuple[LoopbackServer, CarrierState],
) -> None:
    server, state = carrier
    await enable(client, tenant, server)
    token = await tenant.token("store_manager")
    shipment_id = await pickup_shipment(client, tenant, token)
    await gql(
        client,
        token,
        "mutation($i: SetShipmentStatusInput!) { setShipmentStatus(input: $i) { userErrors { code } } }",
        {"i": {"shipmentId": shipment_id, "status": "CANCELLED"}},
    )
    answer = await book(client, token, shipment_id)
    assert [e["code"] for e in answer["userErrors"]] == ["INVALID_TRANSITION"]
    assert state.orders == {}


async def test_tenants_book_with_their_own_carrier_and_see_only_their_shipments(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    carrier: tuple[LoopbackServer, CarrierState],
) -> None:
    server, state = carrier
    await enable(client, tenant, server, shop_no="SH-A")
    mine = await tenant.token("store_manager")
    theirs = await other_tenant.token("store_manager")
    shipment_id = await pickup_shipment(client, tenant, mine)

    # My shipment does not exist for the other tenant, with or without its own carrier.
    assert [e["code"] for e in (await book(client, theirs, shipment_id))["userErrors"]] == [
        "SHIPMENT_NOT_FOUND"
    ]
    await enable(client, other_tenant, server, shop_no="SH-B")
    refused = await book(client, theirs, shipment_id)
    assert [e["code"] for e in refused["userErrors"]] == ["SHIPMENT_NOT_FOUND"]
    synced = await sync(client, theirs, shipment_id)
    assert [e["code"] for e in synced["userErrors"]] == ["SHIPMENT_NOT_FOUND"]
    assert state.orders == {}

    # Each books through its own installation (its own shop at the carrier).
    their_shipment = await pickup_shipment(client, other_tenant, theirs)
    assert (await book(client, theirs, their_shipment))["userErrors"] == []
    assert state.orders[their_shipment].shop_no == "SH-B"
    booked = await book(client, mine, shipment_id)
    assert booked["userErrors"] == []
    assert state.orders[shipment_id].shop_no == "SH-A"


async def test_a_store_held_manager_books_only_their_stores_shipments(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    carrier: tuple[LoopbackServer, CarrierState],
) -> None:
    server, _ = carrier
    await enable(client, tenant, server)
    admin = await tenant.token("tenant_admin")
    here = await pickup_shipment(client, tenant, admin)
    there = await pickup_shipment(client, tenant, admin)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        from centers.fulfillment import api

        store_here = await api.get_shipment(session, tenant.id, uuid.UUID(here))
        assert store_here is not None
    token = await tenant.store_token("store_manager", store_here.store_id)

    assert (await book(client, token, here))["userErrors"] == []
    assert (await sync(client, token, here))["userErrors"] == []
    for query, name in ((BOOK, "bookCourier"), (SYNC, "syncShipmentTracking")):
        variables: dict[str, Any] = {"shipmentId": there}
        if name == "bookCourier":
            variables |= RECEIVER
        body = await gql(client, token, query, {"input": variables})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", name
        assert body["data"] is None or body["data"].get(name) is None


async def _job(tenant: TenantFixture, shipment_id: str, round_: int) -> str | None:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        return await job_status(session, tenant.id, TRACK_SHIPMENT, f"{shipment_id}:{round_}")


async def _history(client: httpx.AsyncClient, token: str, shipment_id: str) -> list[str]:
    body = await gql(
        client,
        token,
        "query($id: ID!) { shipment(id: $id) { trackingEvents { description } } }",
        {"id": shipment_id},
    )
    return [e["description"] for e in body["data"]["shipment"]["trackingEvents"]]


async def test_a_booked_shipment_is_followed_by_a_durable_job_until_it_closes(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    carrier: tuple[LoopbackServer, CarrierState],
) -> None:
    server, state = carrier
    await enable(client, tenant, server)
    token = await tenant.token("store_manager")
    shipment_id = await pickup_shipment(client, tenant, token)
    number = (await book(client, token, shipment_id))["booking"]["trackingNumber"]
    await book(client, token, shipment_id)  # booking again schedules nothing more
    assert await _job(tenant, shipment_id, 1) == "pending"
    jobs = tenant.runtime.jobs  # one round per call: each round schedules the next

    state.advance(number, "骑手已接单", None, T0)
    state.duplicate_tracks = True
    now = datetime.now(UTC)
    assert await jobs.run_due(now + timedelta(minutes=11), tenant_id=tenant.id, limit=1) == 1
    assert await _history(client, token, shipment_id) == ["骑手已接单"]
    assert await _job(tenant, shipment_id, 1) == "done"
    assert await _job(tenant, shipment_id, 2) == "pending"

    # The carrier fails round 2: it is retried later, and wrote nothing meanwhile.
    state.advance(number, "骑手已取货", "Store 1", T0 + 600)
    server.faults.fail_next(1, status=503)
    assert await jobs.run_due(now + timedelta(minutes=21), tenant_id=tenant.id, limit=1) == 1
    assert await _job(tenant, shipment_id, 2) == "pending"
    assert await _history(client, token, shipment_id) == ["骑手已接单"]
    assert await jobs.run_due(now + timedelta(hours=1), tenant_id=tenant.id, limit=1) == 1
    assert await _history(client, token, shipment_id) == ["骑手已接单", "骑手已取货"]
    assert await _job(tenant, shipment_id, 3) == "pending"

    # Once the shipment is closed, the next round stops following it.
    await gql(
        client,
        token,
        "mutation($i: SetShipmentStatusInput!) { setShipmentStatus(input: $i) { userErrors { code } } }",
        {"i": {"shipmentId": shipment_id, "status": "CANCELLED"}},
    )
    assert await jobs.run_due(now + timedelta(hours=2), tenant_id=tenant.id, limit=1) == 1
    assert await _job(tenant, shipment_id, 3) == "done"
    assert await _job(tenant, shipment_id, 4) is None


async def test_with_two_carriers_enabled_the_caller_names_one(
    monkeypatch: pytest.MonkeyPatch,
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    carrier: tuple[LoopbackServer, CarrierState],
) -> None:
    server, state = carrier
    second = dataclasses.replace(MANIFEST, name="carrier-two")
    both = PluginRegistry([MANIFEST, second])
    monkeypatch.setattr(carriers, "registry", lambda: both)
    monkeypatch.setattr(integrations, "registry", lambda: both)
    await enable(client, tenant, server)
    settings = {
        "base_url": server.url,
        "app_key": "carrier-app",
        "app_secret": "carrier-secret",
        "shop_no": "SH-2",
        "carrier_code": "TWO",
    }
    body = await gql(
        client,
        await tenant.token("tenant_admin"),
        CONFIGURE.replace('"carrier-rest"', '"carrier-two"'),
        {"settings": settings},
    )
    assert body["data"]["enablePlugin"]["installation"]["enabled"] is True
    token = await tenant.token("store_manager")
    shipment_id = await pickup_shipment(client, tenant, token)

    ambiguous = await book(client, token, shipment_id)
    assert [(e["field"], e["code"]) for e in ambiguous["userErrors"]] == [
        (["input", "plugin"], "CARRIER_AMBIGUOUS")
    ]
    named = await book(client, token, shipment_id, plugin="carrier-two")
    assert named["shipment"]["carrier"] == "TWO"
    assert state.orders[shipment_id].shop_no == "SH-2"
    synced = await gql(
        client, token, SYNC, {"input": {"shipmentId": shipment_id, "plugin": "carrier-two"}}
    )
    assert synced["data"]["syncShipmentTracking"]["userErrors"] == []
