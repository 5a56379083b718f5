"""Reading orders: by id, by number, the filtered connection; buyers see only their own
orders (an SQL filter), staff see the tenant's; tenants never see each other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.builders import open_shop
from tests.centers.order.flows import fire, pay, place
from tests.conftest import TenantFixture, gql

ORDERS = """
query($first: Int!, $after: String, $storeId: ID, $status: [OrderStatus!], $type: OrderType,
      $channel: String, $buyer: String, $from: DateTime, $before: DateTime) {
  orders(first: $first, after: $after, storeId: $storeId, status: $status, type: $type,
         channel: $channel, buyer: $buyer, placedFrom: $from, placedBefore: $before) {
    edges { node { id status type channel } cursor }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def _ids(client: httpx.AsyncClient, token: str, **variables: Any) -> list[str]:
    body = await gql(client, token, ORDERS, {"first": 50, **variables})
    assert "errors" not in body, body
    return [edge["node"]["id"] for edge in body["data"]["orders"]["edges"]]


async def test_orders_filter_by_status_type_channel_store_and_time(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop, other_shop = await open_shop(tenant), await open_shop(tenant)
    staff = await tenant.token("store_manager")
    placed = await place(client, staff, shop, [1])
    paid = await place(client, staff, shop, [1], order_type="DINE_IN", channel="MINI_PROGRAM")
    await pay(tenant, paid["id"], paid["total"]["amount"])
    cancelled = await place(client, staff, other_shop, [1])
    await fire(client, staff, cancelled["id"], "CANCEL")

    assert await _ids(client, staff) == [cancelled["id"], paid["id"], placed["id"]]
    assert await _ids(client, staff, status=["PAID", "CANCELLED"]) == [cancelled["id"], paid["id"]]
    assert await _ids(client, staff, type="DINE_IN") == [paid["id"]]
    assert await _ids(client, staff, channel="MINI_PROGRAM") == [paid["id"]]
    assert await _ids(client, staff, storeId=str(other_shop.store_id)) == [cancelled["id"]]
    now = datetime.now(UTC)
    assert await _ids(client, staff, before=(now - timedelta(hours=1)).isoformat()) == []
    assert len(await _ids(client, staff, **{"from": (now - timedelta(hours=1)).isoformat()})) == 3


async def test_a_buyer_sees_only_their_own_orders_whatever_the_filter(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    alice = await tenant.token("customer", sub="alice")
    bob = await tenant.token("customer", sub="bob")
    mine = await place(client, alice, shop, [1])
    theirs = await place(client, bob, shop, [1])
    assert await _ids(client, alice) == [mine["id"]]
    assert await _ids(client, alice, buyer="user:bob") == [mine["id"]]
    by_id = await gql(
        client, alice, "query($id: ID!) { order(id: $id) { id } }", {"id": theirs["id"]}
    )
    assert by_id["data"]["order"] is None
    by_number = await gql(
        client,
        alice,
        "query($n: String!) { orderByNumber(number: $n) { id } }",
        {"n": theirs["number"]},
    )
    assert by_number["data"]["orderByNumber"] is None
    staff = await tenant.token("cashier")
    assert await _ids(client, staff, buyer="user:bob") == [theirs["id"]]


async def test_order_by_number_finds_the_order(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [1])
    body = await gql(
        client,
        staff,
        "query($n: String!) { orderByNumber(number: $n) { id history { event } } }",
        {"n": order["number"]},
    )
    assert body["data"]["orderByNumber"] == {"id": order["id"], "history": [{"event": "PLACE"}]}


async def test_orders_paginate_with_cursors(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    placed = [(await place(client, staff, shop, [1]))["id"] for _ in range(5)]
    seen: list[str] = []
    after = None
    while True:
        body = await gql(client, staff, ORDERS, {"first": 2, "after": after})
        page = body["data"]["orders"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(placed))


async def test_another_tenant_sees_none_of_the_orders(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("tenant_admin")
    order = await place(client, staff, shop, [1])
    outsider = await other_tenant.token("tenant_admin")
    assert await _ids(client, outsider) == []
    body = await gql(
        client, outsider, "query($id: ID!) { order(id: $id) { id } }", {"id": order["id"]}
    )
    assert body["data"]["order"] is None
    refused = await fire(client, outsider, order["id"], "CANCEL")
    assert [e["code"] for e in refused["userErrors"]] == ["ORDER_NOT_FOUND"]
