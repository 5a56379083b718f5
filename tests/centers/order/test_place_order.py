"""placeOrder and cancelOrder through the public API, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
import sqlalchemy as sa

from kernel import prepared
from kernel.db import Database
from tests.builders import Shop, open_shop
from tests.conftest import TenantFixture, gql

PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order { id number status total { amount currency } lines { lineNo skuName quantity amount { amount } sku { id name } } }
    replayed
    userErrors { field message code }
  }
}
"""
PLACE_SHORT = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id number } userErrors { field message code } }
}
"""
CANCEL = """
mutation($input: CancelOrderInput!) {
  cancelOrder(input: $input) { order { id status cancelReason } userErrors { field code } }
}
"""
STOCK = """
query($id: ID!, $store: ID!) { sku(id: $id) { stock(storeId: $store) { onHand reserved available } } }
"""


def order_input(shop: Shop, quantities: list[int], key: str | None = None) -> dict[str, Any]:
    return {
        "input": {
            "idempotencyKey": key or secrets.token_hex(8),
            "storeId": str(shop.store_id),
            "lines": [
                {"skuId": str(sku), "quantity": q}
                for sku, q in zip(shop.sku_ids, quantities, strict=False)
            ],
        }
    }


async def stock_of(
    client: httpx.AsyncClient, token: str, shop: Shop, index: int = 0
) -> dict[str, int]:
    body = await gql(
        client, token, STOCK, {"id": str(shop.sku_ids[index]), "store": str(shop.store_id)}
    )
    level: dict[str, int] = body["data"]["sku"]["stock"]
    return level


async def test_place_order_prices_lines_and_reserves_stock(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    token = await tenant.token("cashier")
    body = await gql(client, token, PLACE, order_input(shop, [2, 1, 3]))
    payload = body["data"]["placeOrder"]
    assert payload["userErrors"] == []
    order = payload["order"]
    assert order["status"] == "PLACED"
    assert order["total"] == {"amount": 2 * 1200 + 800 + 3 * 350, "currency": "CNY"}
    assert [line["amount"]["amount"] for line in order["lines"]] == [2400, 800, 1050]
    assert order["lines"][0]["sku"]["name"] == "Dish 0"  # resolved by the product center
    assert len(order["number"]) == 16 and order["number"].isdigit()
    assert await stock_of(client, token, shop) == {"onHand": 100, "reserved": 2, "available": 98}


async def test_place_order_writes_an_outbox_event(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant)
    token = await tenant.token("cashier")
    body = await gql(client, token, PLACE, order_input(shop, [1]))
    order_id = body["data"]["placeOrder"]["order"]["id"]
    async with db.unit_of_work() as session:
        topics = (
            await session.execute(
                sa.text(
                    "SELECT topic, payload FROM kernel.outbox_event WHERE tenant_id = :t AND aggregate_id = :a"
                ),
                {"t": tenant.id, "a": order_id},
            )
        ).all()
    assert [t.topic for t in topics] == ["order.placed"]
    assert topics[0].payload["total_amount"] == 1200


async def test_cancel_releases_reserved_stock(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    token = await tenant.token("cashier")
    placed = await gql(client, token, PLACE, order_input(shop, [5]))
    order_id = placed["data"]["placeOrder"]["order"]["id"]
    cancelled = await gql(
        client, token, CANCEL, {"input": {"orderId": order_id, "reason": "changed mind"}}
    )
    assert cancelled["data"]["cancelOrder"]["order"]["status"] == "CANCELLED"
    assert await stock_of(client, token, shop) == {"onHand": 100, "reserved": 0, "available": 100}
    again = await gql(client, token, CANCEL, {"input": {"orderId": order_id}})
    assert again["data"]["cancelOrder"]["userErrors"][0]["code"] == "INVALID_TRANSITION"


async def test_bad_input_gets_user_errors_and_writes_nothing(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=3)
    foreign = await open_shop(other_tenant)
    token = await tenant.token("cashier")
    unknown = "00000000-0000-7000-8000-000000000000"
    cases = {
        "OUT_OF_STOCK": order_input(shop, [1, 1, 4]),
        "INVALID_QUANTITY": order_input(shop, [0]),
        "NO_LINES": order_input(shop, []),
        "SKU_NOT_FOUND": {
            "input": {
                **order_input(shop, [1])["input"],
                "lines": [{"skuId": unknown, "quantity": 1}],
            }
        },
        "INVALID_ID": {
            "input": {
                **order_input(shop, [1])["input"],
                "lines": [{"skuId": "not-an-id", "quantity": 1}],
            }
        },
        "STORE_NOT_FOUND": {
            "input": {**order_input(shop, [1])["input"], "storeId": str(foreign.store_id)}
        },
    }
    cross_tenant_sku = order_input(shop, [1])
    cross_tenant_sku["input"]["lines"] = [{"skuId": str(foreign.sku_ids[0]), "quantity": 1}]
    for code, variables in [*cases.items(), ("SKU_NOT_FOUND", cross_tenant_sku)]:
        body = await gql(client, token, PLACE, variables)
        payload = body["data"]["placeOrder"]
        assert payload["order"] is None
        assert [e["code"] for e in payload["userErrors"]] == [code], code
    assert await stock_of(client, token, shop, 2) == {"onHand": 3, "reserved": 0, "available": 3}
    async with db.unit_of_work() as session:
        orders = await session.scalar(
            sa.text('SELECT count(*) FROM "order".trade_order WHERE tenant_id = :t'),
            {"t": tenant.id},
        )
        events = await session.scalar(
            sa.text(
                "SELECT count(*) FROM kernel.outbox_event WHERE tenant_id = :t AND topic LIKE 'order.%'"
            ),
            {"t": tenant.id},
        )
    assert (orders, events) == (0, 0)


async def test_concurrent_orders_never_oversell(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, prices=(990,), stock=50)
    token = await tenant.token("customer")
    results = await asyncio.gather(
        *(gql(client, token, PLACE, order_input(shop, [1])) for _ in range(200))
    )
    placed = [r for r in results if r["data"]["placeOrder"]["order"]]
    refused = [
        r["data"]["placeOrder"]["userErrors"][0]["code"]
        for r in results
        if not r["data"]["placeOrder"]["order"]
    ]
    assert len(placed) == 50
    assert refused == ["OUT_OF_STOCK"] * 150
    assert len({r["data"]["placeOrder"]["order"]["number"] for r in placed}) == 50
    admin = await tenant.token("tenant_admin")
    assert await stock_of(client, admin, shop) == {"onHand": 50, "reserved": 50, "available": 0}


async def test_concurrent_orders_naming_skus_in_opposite_orders_never_deadlock(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    # The reserve statement locks levels in SKU order whatever the cart's line order.
    shop = await open_shop(tenant, prices=(990, 500, 300), stock=40)
    token = await tenant.token("customer")
    orders = []
    for n in range(60):
        skus = shop.sku_ids if n % 2 else list(reversed(shop.sku_ids))
        orders.append(
            {
                "input": {
                    "idempotencyKey": secrets.token_hex(8),
                    "storeId": str(shop.store_id),
                    "lines": [{"skuId": str(sku), "quantity": 1} for sku in skus],
                }
            }
        )
    results = await asyncio.gather(*(gql(client, token, PLACE, o) for o in orders))
    assert not [r for r in results if r.get("errors")]
    placed = [r for r in results if r["data"]["placeOrder"]["order"]]
    refused = {
        r["data"]["placeOrder"]["userErrors"][0]["code"]
        for r in results
        if not r["data"]["placeOrder"]["order"]
    }
    assert len(placed) == 40
    assert refused == {"OUT_OF_STOCK"}
    admin = await tenant.token("tenant_admin")
    for index in range(3):
        assert await stock_of(client, admin, shop, index) == {
            "onHand": 40,
            "reserved": 40,
            "available": 0,
        }


async def test_concurrent_replays_of_one_key_place_one_order(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant)
    token = await tenant.token("customer", sub="buyer-1")
    variables = order_input(shop, [2, 1], key="cart-42")
    results = await asyncio.gather(*(gql(client, token, PLACE, variables) for _ in range(50)))
    ids = {r["data"]["placeOrder"]["order"]["id"] for r in results}
    assert len(ids) == 1
    assert sum(not r["data"]["placeOrder"]["replayed"] for r in results) == 1
    assert await stock_of(client, token, shop) == {"onHand": 100, "reserved": 2, "available": 98}
    async with db.unit_of_work() as session:
        count = await session.scalar(
            sa.text('SELECT count(*) FROM "order".trade_order WHERE tenant_id = :t'),
            {"t": tenant.id},
        )
    assert count == 1


async def test_reusing_a_key_for_another_cart_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    token = await tenant.token("customer")
    await gql(client, token, PLACE, order_input(shop, [1], key="k1"))
    other = await gql(client, token, PLACE, order_input(shop, [2], key="k1"))
    assert other["data"]["placeOrder"]["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_customer_sees_only_own_orders(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    alice = await tenant.token("customer", sub="alice")
    bob = await tenant.token("customer", sub="bob")
    mine = await gql(client, alice, PLACE, order_input(shop, [1]))
    order = mine["data"]["placeOrder"]["order"]
    await gql(client, bob, PLACE, order_input(shop, [1]))

    listed = await gql(client, alice, "{ orders(first: 10) { edges { node { id } } } }")
    assert [e["node"]["id"] for e in listed["data"]["orders"]["edges"]] == [order["id"]]
    seen_by_bob = await gql(
        client, bob, "query($id: ID!) { order(id: $id) { id } }", {"id": order["id"]}
    )
    assert seen_by_bob["data"]["order"] is None
    by_number = await gql(
        client,
        bob,
        "query($n: String!) { orderByNumber(number: $n) { id } }",
        {"n": order["number"]},
    )
    assert by_number["data"]["orderByNumber"] is None
    cancel = await gql(client, bob, CANCEL, {"input": {"orderId": order["id"]}})
    assert cancel["data"]["cancelOrder"]["userErrors"][0]["code"] == "ORDER_NOT_FOUND"
    staff = await tenant.token("store_manager")
    all_orders = await gql(client, staff, "{ orders(first: 10) { edges { node { id } } } }")
    assert len(all_orders["data"]["orders"]["edges"]) == 2


async def test_a_failing_mutation_keeps_the_earlier_one_of_the_same_operation(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=1)
    token = await tenant.token("cashier")
    both = """
    mutation($first: PlaceOrderInput!, $second: PlaceOrderInput!) {
      first: placeOrder(input: $first) { order { id } userErrors { code } }
      second: placeOrder(input: $second) { order { id } userErrors { code } }
    }
    """
    body = await gql(
        client,
        token,
        both,
        {
            "first": order_input(shop, [1])["input"],
            "second": order_input(shop, [1])["input"],
        },
    )
    assert body["data"]["first"]["order"] is not None
    assert body["data"]["second"]["userErrors"][0]["code"] == "OUT_OF_STOCK"
    assert await stock_of(client, token, shop) == {"onHand": 1, "reserved": 1, "available": 0}


async def test_a_plain_order_takes_six_statements_between_begin_and_commit(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    # docs/performance.md: role and tenant; the key's claim with every read pricing needs;
    # the live activities and the pricing row (promotion); the order's writes; the
    # stock reservation, last. With BEGIN and COMMIT: eight round trips. (A customer's
    # order also looks up their own membership; a cashier names it or not.)
    shop = await open_shop(tenant)
    token = await tenant.token("cashier")
    await gql(client, token, PLACE_SHORT, order_input(shop, [1, 1, 1]))  # warm the policy
    sent: list[str] = []

    def record_statement(*args: Any) -> None:
        sent.append(str(args[2]))

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", record_statement)
    prepared.listen(sent.append)
    try:
        body = await gql(client, token, PLACE_SHORT, order_input(shop, [1, 1, 1]))
    finally:
        prepared.unlisten(sent.append)
        sa.event.remove(db.engine.sync_engine, "before_cursor_execute", record_statement)
    assert body["data"]["placeOrder"]["order"]["number"]
    summary = [" ".join(s.split())[:60] for s in sent]
    assert len(sent) == 6, summary
    assert "FOR UPDATE" in sent[-1]  # the hot stock rows are locked by the last statement
