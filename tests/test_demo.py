"""The demo data loads, twice without duplicates, and can place an order at once."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from centers.store import api as store_api
from kernel.app import Runtime
from schema.demo import DEMO_SLUG, MENU, seed_demo
from tests.conftest import TenantFixture, gql


async def test_seed_demo_is_idempotent_and_ready_to_sell(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    for _ in range(2):
        async with runtime.db.unit_of_work() as session:
            summary = await seed_demo(session)
    async with runtime.db.unit_of_work() as session:
        tenant = await store_api.tenant_by_slug(session, DEMO_SLUG)
        assert tenant is not None and tenant.id == summary.tenant_id
        skus = await session.scalar(
            sa.text("SELECT count(*) FROM product.sku WHERE tenant_id = :t"), {"t": tenant.id}
        )
        levels = await session.execute(
            sa.text("SELECT on_hand FROM stock.level WHERE tenant_id = :t"), {"t": tenant.id}
        )
    assert skus == sum(len(v) for v in MENU.values()) >= 10
    assert {row.on_hand for row in levels} == {100}
    async with runtime.db.unit_of_work() as session:
        members = await session.scalar(
            sa.text("SELECT count(*) FROM member.member WHERE tenant_id = :t"), {"t": tenant.id}
        )
    assert members == 2

    demo = TenantFixture(id=tenant.id, slug=DEMO_SLUG, runtime=runtime, settings=runtime.settings)
    token = await demo.token("customer")
    menu = await gql(
        client,
        token,
        "{ stores(first: 5) { edges { node { id code } } } products(first: 50) { edges { node { skus { id price { amount } } } } } }",
    )
    store_id = menu["data"]["stores"]["edges"][0]["node"]["id"]
    sku = menu["data"]["products"]["edges"][0]["node"]["skus"][0]
    placed = await gql(
        client,
        token,
        "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { total { amount } } userErrors { code } } }",
        {
            "i": {
                "idempotencyKey": "demo-1",
                "storeId": store_id,
                "lines": [{"skuId": sku["id"], "quantity": 2}],
            }
        },
    )
    assert placed["data"]["placeOrder"]["order"]["total"]["amount"] == 2 * sku["price"]["amount"]
