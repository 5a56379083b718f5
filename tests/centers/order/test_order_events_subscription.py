"""``orderEvents(storeId)`` over a real WebSocket (graphql-transport-ws): a real uvicorn
server on 127.0.0.1 serving the app, the ``websockets`` client, changes made through
another app instance (so the event crosses processes' boundary: PostgreSQL NOTIFY)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from kernel.app import create_app
from kernel.authn import mint_dev_token
from kernel.settings import Settings
from schema.subgraphs import served_api
from tests.builders import open_shop
from tests.centers.order.flows import fire, pay, place
from tests.conftest import TenantFixture

SUBSCRIBE = """
subscription($store: ID!) {
  orderEvents(storeId: $store) { event fromStatus toStatus order { id number status } }
}
"""
PROTOCOL = "graphql-transport-ws"


@pytest.fixture(scope="module")
async def ws_url(settings: Settings) -> AsyncIterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(served_api(), settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        await asyncio.sleep(0.05)
    yield f"ws://127.0.0.1:{port}/graphql"
    server.should_exit = True
    await task


async def _open(url: str, token: str) -> ClientConnection:
    socket_ = await connect(url, subprotocols=[PROTOCOL])  # type: ignore[list-item]
    await socket_.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await asyncio.wait_for(socket_.recv(), 5))
    assert ack == {"type": "connection_ack"}
    return socket_


async def _subscribe(socket_: ClientConnection, store_id: str, op: str = "1") -> None:
    await socket_.send(
        json.dumps(
            {
                "id": op,
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"store": store_id}},
            }
        )
    )


async def _next(socket_: ClientConnection, within: float = 1.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket_.recv(), within))
    return message


async def test_a_store_sees_new_and_changed_orders_within_a_second(
    ws_url: str, client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop, elsewhere = await open_shop(tenant), await open_shop(tenant)
    staff = await tenant.token("cashier")
    async with await _open(ws_url, staff) as kitchen:
        await _subscribe(kitchen, str(shop.store_id))
        await asyncio.sleep(0.3)  # the server is LISTENing once the source has started
        await place(client, staff, elsewhere, [1])  # another store: never shown here
        started = time.monotonic()
        order = await place(client, staff, shop, [1], order_type="DINE_IN")
        placed = await _next(kitchen)
        assert time.monotonic() - started < 1.0
        assert placed["type"] == "next" and placed["id"] == "1"
        change = placed["payload"]["data"]["orderEvents"]
        assert change == {
            "event": "PLACE",
            "fromStatus": None,
            "toStatus": "PLACED",
            "order": {"id": order["id"], "number": order["number"], "status": "PLACED"},
        }
        await pay(tenant, order["id"], order["total"]["amount"])
        await fire(client, staff, order["id"], "ACCEPT")
        paid, accepted = await _next(kitchen), await _next(kitchen)
        assert paid["payload"]["data"]["orderEvents"]["event"] == "PAY"
        assert accepted["payload"]["data"]["orderEvents"]["toStatus"] == "ACCEPTED"
        # Each event reads the order as it is now (no stale per-connection cache).
        assert accepted["payload"]["data"]["orderEvents"]["order"]["status"] == "ACCEPTED"
        await kitchen.send(json.dumps({"id": "1", "type": "complete"}))
        await place(client, staff, shop, [1])
        with pytest.raises(TimeoutError):
            await _next(kitchen, within=0.5)


async def test_a_rolled_back_change_is_never_announced(
    ws_url: str, client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=1)
    staff = await tenant.token("cashier")
    async with await _open(ws_url, staff) as kitchen:
        await _subscribe(kitchen, str(shop.store_id))
        await asyncio.sleep(0.3)
        from tests.centers.order.flows import PLACE, place_input
        from tests.conftest import gql

        refused = await gql(client, staff, PLACE, place_input(shop, [5]))  # out of stock
        assert refused["data"]["placeOrder"]["userErrors"][0]["code"] == "OUT_OF_STOCK"
        with pytest.raises(TimeoutError):
            await _next(kitchen, within=0.5)


async def test_another_tenants_token_never_sees_the_store(
    ws_url: str, client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    own_shop = await open_shop(other_tenant)
    outsider = await other_tenant.token("tenant_admin")
    async with await _open(ws_url, outsider) as spy:
        await _subscribe(spy, str(shop.store_id), op="steal")
        refused = await _next(spy, within=5)
        assert refused["type"] == "error" and refused["id"] == "steal"
        assert refused["payload"][0]["extensions"]["code"] == "NOT_FOUND"
        # Their own store's stream carries nothing of the first tenant's orders.
        await _subscribe(spy, str(own_shop.store_id), op="own")
        await asyncio.sleep(0.3)
        await place(client, await tenant.token("cashier"), shop, [1])
        with pytest.raises(TimeoutError):
            await _next(spy, within=0.7)


async def test_a_caller_without_permission_is_refused(ws_url: str, tenant: TenantFixture) -> None:
    shop = await open_shop(tenant)
    async with await _open(ws_url, await tenant.token("customer")) as buyer:
        await _subscribe(buyer, str(shop.store_id))
        refused = await _next(buyer, within=5)
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_bad_token_closes_the_socket_4403(ws_url: str) -> None:
    async with connect(ws_url, subprotocols=[PROTOCOL]) as socket_:  # type: ignore[list-item]
        await socket_.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
        )
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket_.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_subscribing_before_init_closes_the_socket_4401(ws_url: str) -> None:
    async with connect(ws_url, subprotocols=[PROTOCOL]) as socket_:  # type: ignore[list-item]
        await socket_.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        )
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket_.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_ping_is_answered_with_pong(ws_url: str, tenant: TenantFixture) -> None:
    async with await _open(ws_url, await tenant.token("cashier")) as socket_:
        await socket_.send(json.dumps({"type": "ping"}))
        assert await _next(socket_, within=5) == {"type": "pong"}


async def test_the_socket_closes_when_its_token_expires(
    ws_url: str, tenant: TenantFixture, settings: Settings
) -> None:
    token = mint_dev_token(
        settings, tenant_id=tenant.id, subject_id="short-lived", ttl=timedelta(seconds=2)
    )
    socket_ = await _open(ws_url, token)
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket_.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def _open_with_key(url: str, key: str) -> ClientConnection:
    socket_ = await connect(url, subprotocols=[PROTOCOL])  # type: ignore[list-item]
    await socket_.send(json.dumps({"type": "connection_init", "payload": {"X-Api-Key": key}}))
    ack = json.loads(await asyncio.wait_for(socket_.recv(), 5))
    assert ack == {"type": "connection_ack"}
    return socket_


async def test_a_pos_terminal_subscribes_with_its_api_key_until_it_is_revoked(
    ws_url: str, client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    from tests.kernel.test_api_keys import REVOKE, admin_call, issue

    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    issued = await issue(client, tenant, "pos-terminal-1", role="cashier")
    async with await _open_with_key(ws_url, issued["key"]) as terminal:
        await _subscribe(terminal, str(shop.store_id))
        await asyncio.sleep(0.3)
        await place(client, staff, shop, [1])
        placed = await _next(terminal)
        assert placed["payload"]["data"]["orderEvents"]["event"] == "PLACE"
        await admin_call(client, tenant, REVOKE, {"i": {"id": issued["apiKey"]["id"]}})
        await place(client, staff, shop, [1])
        refused = await _next(terminal)
        assert refused["type"] == "error"
        assert "revoked" in refused["payload"][0]["message"]


async def test_a_terminal_key_held_at_one_store_hears_only_that_store(
    ws_url: str, client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    from tests.kernel.test_api_keys import issue

    shop, elsewhere = await open_shop(tenant), await open_shop(tenant)
    staff = await tenant.token("cashier")
    issued = await issue(client, tenant, "kds-1", role="cashier", store_id=str(shop.store_id))
    assert issued["userErrors"] == [] and issued["apiKey"]["storeId"] == str(shop.store_id)
    async with await _open_with_key(ws_url, issued["key"]) as terminal:
        await _subscribe(terminal, str(elsewhere.store_id), op="other")
        refused = await _next(terminal, within=5)
        assert refused["id"] == "other" and refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
        await _subscribe(terminal, str(shop.store_id))
        await asyncio.sleep(0.3)
        order = await place(client, staff, shop, [1])
        placed = await _next(terminal)
        assert placed["payload"]["data"]["orderEvents"]["order"]["id"] == order["id"]


RESUME = """
subscription($store: ID!, $after: String) {
  orderEvents(storeId: $store, after: $after) { id cursor event order { id } }
}
"""


async def _resume(socket_: ClientConnection, store_id: str, after: str | None) -> None:
    await socket_.send(
        json.dumps(
            {
                "id": "r",
                "type": "subscribe",
                "payload": {"query": RESUME, "variables": {"store": store_id, "after": after}},
            }
        )
    )


async def test_a_reconnecting_display_gets_what_it_missed_then_the_live_stream(
    ws_url: str, client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    async with await _open(ws_url, staff) as kitchen:
        await _resume(kitchen, str(shop.store_id), None)
        await asyncio.sleep(0.3)
        first = await place(client, staff, shop, [1])
        seen = (await _next(kitchen))["payload"]["data"]["orderEvents"]
        assert seen["event"] == "PLACE" and seen["order"]["id"] == first["id"]
    # Disconnected: the kitchen misses a new order and the first one being paid.
    second = await place(client, staff, shop, [1])
    await pay(tenant, first["id"], first["total"]["amount"])
    got: dict[str, dict[str, Any]] = {seen["id"]: seen}
    async with await _open(ws_url, staff) as kitchen:
        await _resume(kitchen, str(shop.store_id), seen["cursor"])
        missed = []
        while len(missed) < 2:
            change = (await _next(kitchen, within=5))["payload"]["data"]["orderEvents"]
            if change["id"] not in got:  # at least once: the cursor's own change may repeat
                got[change["id"]] = change
                missed.append((change["event"], change["order"]["id"]))
        assert missed == [("PLACE", second["id"]), ("PAY", first["id"])]
        third = await place(client, staff, shop, [1])
        live = (await _next(kitchen))["payload"]["data"]["orderEvents"]
        assert (live["event"], live["order"]["id"]) == ("PLACE", third["id"])
        with pytest.raises(TimeoutError):  # and nothing twice
            await _next(kitchen, within=0.5)


async def test_a_bad_or_old_cursor_is_refused_with_its_code(
    ws_url: str, tenant: TenantFixture
) -> None:
    from centers.order.graphql.subscriptions import encode_cursor

    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    old = encode_cursor(datetime.now(UTC) - timedelta(days=2), str(shop.store_id), 1)
    async with await _open(ws_url, staff) as kitchen:
        for cursor, code in (("garbage!", "INVALID_CURSOR"), (old, "CURSOR_EXPIRED")):
            await _resume(kitchen, str(shop.store_id), cursor)
            refused = await _next(kitchen, within=5)
            assert refused["type"] == "error", refused
            assert refused["payload"][0]["extensions"]["code"] == code


async def test_a_subscription_over_the_cost_budget_is_refused(
    ws_url: str, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    # Ten aliases of lines x SKUs x specs: cost 24,321 against the budget of 20,000.
    menu = "lines { sku { product { skus { id name code specs { name value } } } } }"
    fields = " ".join(f"f{i}: order {{ {menu} }}" for i in range(10))
    query = f"subscription($s: ID!) {{ orderEvents(storeId: $s) {{ {fields} }} }}"
    async with await _open(ws_url, staff) as kitchen:
        await kitchen.send(
            json.dumps(
                {
                    "id": "c",
                    "type": "subscribe",
                    "payload": {"query": query, "variables": {"s": str(shop.store_id)}},
                }
            )
        )
        answer = await _next(kitchen)
    assert answer["type"] == "error"
    assert answer["payload"][0]["extensions"]["code"] == "BAD_OPERATION"
    assert "cost" in answer["payload"][0]["message"]
