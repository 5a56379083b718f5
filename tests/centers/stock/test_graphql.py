"""The stock subgraph through the public API."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import sqlalchemy as sa

from kernel.db import Database
from tests.builders import open_shop
from tests.conftest import TenantFixture, gql

ADJUST = """
mutation($input: AdjustStockInput!) {
  adjustStock(input: $input) { stockLevel { onHand reserved available } userErrors { field code } }
}
"""


async def test_adjust_stock_and_read_it_on_the_sku(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=0)
    token = await tenant.token("store_manager")
    body = await gql(
        client,
        token,
        ADJUST,
        {
            "input": {
                "idempotencyKey": "grn-1",
                "storeId": str(shop.store_id),
                "skuId": str(shop.sku_ids[0]),
                "delta": 40,
                "reason": "received",
            }
        },
    )
    assert body["data"]["adjustStock"]["stockLevel"] == {
        "onHand": 40,
        "reserved": 0,
        "available": 40,
    }
    read = await gql(
        client,
        token,
        "query($id: ID!) { sku(id: $id) { name stockLevels { onHand store { id name } sku { code } } } }",
        {"id": str(shop.sku_ids[0])},
    )
    levels = read["data"]["sku"]["stockLevels"]
    assert levels[0]["onHand"] == 40 and levels[0]["store"]["name"] == "Test store"
    listing = await gql(
        client,
        token,
        "query($s: ID!) { stockLevels(storeId: $s, first: 10) { edges { node { available } } } }",
        {"s": str(shop.store_id)},
    )
    assert [e["node"]["available"] for e in listing["data"]["stockLevels"]["edges"]] == [40]


async def test_stock_never_falls_below_reserved(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=5)
    token = await tenant.token("store_manager")
    body = await gql(
        client,
        token,
        ADJUST,
        {
            "input": {
                "idempotencyKey": "waste-1",
                "storeId": str(shop.store_id),
                "skuId": str(shop.sku_ids[0]),
                "delta": -6,
                "reason": "waste",
            }
        },
    )
    assert body["data"]["adjustStock"]["userErrors"][0]["code"] == "INSUFFICIENT_STOCK"
    for code, change in {
        "INVALID_DELTA": {"delta": 0},
        "INVALID_REASON": {"reason": " "},
        "SKU_NOT_FOUND": {"skuId": str(shop.store_id)},
        "INVALID_ID": {"storeId": "nope"},
    }.items():
        variables = {
            "input": {
                "idempotencyKey": code,
                "storeId": str(shop.store_id),
                "skuId": str(shop.sku_ids[0]),
                "delta": 1,
                "reason": "x",
                **change,
            }
        }
        body = await gql(client, token, ADJUST, variables)
        assert [e["code"] for e in body["data"]["adjustStock"]["userErrors"]] == [code]


async def test_concurrent_replays_adjust_once(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=0)
    token = await tenant.token("store_manager")
    variables = {
        "input": {
            "idempotencyKey": "grn-7",
            "storeId": str(shop.store_id),
            "skuId": str(shop.sku_ids[0]),
            "delta": 12,
            "reason": "received",
        }
    }
    results = await asyncio.gather(*(gql(client, token, ADJUST, variables) for _ in range(30)))
    assert {r["data"]["adjustStock"]["stockLevel"]["onHand"] for r in results} == {12}
    async with db.unit_of_work() as session:
        moves = await session.scalar(
            sa.text(
                "SELECT count(*) FROM stock.movement WHERE tenant_id = :t AND source_id = 'grn-7'"
            ),
            {"t": tenant.id},
        )
    assert moves == 1


async def test_ledger_reconciles_with_levels_after_orders(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    from tests.centers.order.test_place_order import CANCEL, PLACE, order_input

    shop = await open_shop(tenant, stock=30)
    token = await tenant.token("cashier")
    placed = await asyncio.gather(
        *(gql(client, token, PLACE, order_input(shop, [1, 2, 1])) for _ in range(12))
    )
    for body in placed[:4]:
        await gql(
            client, token, CANCEL, {"input": {"orderId": body["data"]["placeOrder"]["order"]["id"]}}
        )
    async with db.unit_of_work() as session:
        rows = (
            await session.execute(
                sa.text(
                    """
            SELECT l.sku_id, l.on_hand, l.reserved, sum(m.on_hand_delta) AS on_hand_sum,
                   sum(m.reserved_delta) AS reserved_sum
            FROM stock.level l JOIN stock.movement m
              ON m.tenant_id = l.tenant_id AND m.store_id = l.store_id AND m.sku_id = l.sku_id
            WHERE l.tenant_id = :t GROUP BY l.sku_id, l.on_hand, l.reserved
            """
                ),
                {"t": tenant.id},
            )
        ).all()
    assert rows and all(r.on_hand == r.on_hand_sum and r.reserved == r.reserved_sum for r in rows)
    assert all(r.reserved <= r.on_hand for r in rows)


async def test_stock_level_is_an_entity_the_gateway_can_fetch(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, stock=7)
    token = await tenant.token("cashier")
    read = await gql(
        client,
        token,
        "query($id: ID!, $s: ID!) { sku(id: $id) { stock(storeId: $s) { id } } }",
        {"id": str(shop.sku_ids[0]), "s": str(shop.store_id)},
    )
    level_id = read["data"]["sku"]["stock"]["id"]
    query = (
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on StockLevel { id onHand } } }"
    )
    reps = [
        {"__typename": "StockLevel", "id": level_id},
        {"__typename": "StockLevel", "id": "garbage"},
    ]
    mine = await gql(client, token, query, {"r": reps}, path="/subgraphs/stock/graphql")
    assert mine["data"]["_entities"] == [{"id": level_id, "onHand": 7}, None]
    theirs = await gql(
        client,
        await other_tenant.token("cashier"),
        query,
        {"r": reps[:1]},
        path="/subgraphs/stock/graphql",
    )
    assert theirs["data"]["_entities"] == [None]  # another tenant's level is not theirs


async def test_a_stock_level_reference_to_nothing_is_null(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    """Only a level that exists resolves: a stored one, or zero for one of the brand's
    SKUs at one of its stores never stocked there. Random ids, another brand's store or
    SKU, and any mix of them answer null, never a made-up zero level."""
    shop = await open_shop(tenant, stock=7)
    bare = await open_shop(tenant, stock=0)  # a store and SKUs never stocked
    theirs = await open_shop(other_tenant, stock=3)
    store, sku = shop.store_id, shop.sku_ids[0]
    stocked, never = f"{store}.{sku}", f"{bare.store_id}.{bare.sku_ids[0]}"
    ids = [
        stocked,
        never,
        f"{uuid.uuid4()}.{uuid.uuid4()}",
        f"{theirs.store_id}.{theirs.sku_ids[0]}",
        f"{store}.{uuid.uuid4()}",
        f"{uuid.uuid4()}.{sku}",
        f"{store}.{theirs.sku_ids[0]}",
        f"{theirs.store_id}.{sku}",
    ]
    query = (
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on StockLevel { id onHand } } }"
    )
    reps = [{"__typename": "StockLevel", "id": i} for i in ids]
    for token in (await tenant.token("tenant_admin"), await tenant.token("cashier")):
        body = await gql(client, token, query, {"r": reps}, path="/subgraphs/stock/graphql")
        assert body["data"]["_entities"] == [
            {"id": stocked, "onHand": 7},
            {"id": never, "onHand": 0},
            *[None] * 6,
        ], body
    # ``Sku.stock`` makes up no level either: only the brand's stores and warehouses.
    at = "query($id: ID!, $s: ID!) { sku(id: $id) { stock(storeId: $s) { id onHand } } }"
    admin = await tenant.token("tenant_admin")
    found = [
        (await gql(client, admin, at, {"id": str(sku), "s": str(s)}))["data"]["sku"]["stock"]
        for s in (bare.store_id, uuid.uuid4(), theirs.store_id)
    ]
    assert found == [{"id": f"{bare.store_id}.{sku}", "onHand": 0}, None, None]
