"""The demo data loads, twice without duplicates, and shows each part of the platform."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kernel.app import Runtime
from schema.demo import (
    DEMO_SLUG,
    DEV_CUSTOMER,
    ISSUED_TEMPLATE,
    MENU,
    OPENING_STOCK,
    WAREHOUSE,
    WAREHOUSE_STOCK,
    WELCOME_POINTS,
    seed_demo,
)
from tests.conftest import TenantFixture, gql

COUNTS = (
    """
{
  stores(first: 5) { edges { node { id code } } }
  stockLocations(first: 5) { edges { node { id code kind } } }
  categories { id name }
}
""",
    """
{
  products(first: 12) { edges { node { category { name } skus { specs { name } } } } }
}
""",
    """
{
  memberLevels { level name }
  members(first: 5) { edges { node { id } } }
  pointsRules { redeemUnitPoints redeemUnitValue }
  promotionActivities(first: 5) { edges { node { name status } } }
  couponTemplates(first: 5) { edges { node { name sharedCode issued } } }
  orders(first: 5) { edges { node { number status type } } }
}
""",
)


async def _demo(runtime: Runtime) -> TenantFixture:
    async with runtime.db.unit_of_work() as session:
        summary = await seed_demo(session)
    return TenantFixture(
        id=summary.tenant_id, slug=DEMO_SLUG, runtime=runtime, settings=runtime.settings
    )


@pytest.fixture
async def demo(runtime: Runtime) -> TenantFixture:
    return await _demo(runtime)


async def _counts(client: httpx.AsyncClient, demo: TenantFixture) -> dict[str, Any]:
    token = await demo.token("tenant_admin")
    data: dict[str, Any] = {}
    for query in COUNTS:
        body = await gql(client, token, query)
        assert "errors" not in body, body
        data.update(body["data"])
    return data


async def test_seeding_twice_adds_nothing_the_first_run_made(
    client: httpx.AsyncClient, runtime: Runtime, demo: TenantFixture
) -> None:
    first = await _counts(client, demo)
    again = await _demo(runtime)
    assert again.id == demo.id
    assert await _counts(client, demo) == first


async def test_demo_shows_catalog_members_promotions_and_orders(
    client: httpx.AsyncClient, demo: TenantFixture
) -> None:
    data = await _counts(client, demo)
    assert len(data["stores"]["edges"]) == 2
    assert WAREHOUSE[0] in {
        e["node"]["code"]
        for e in data["stockLocations"]["edges"]
        if e["node"]["kind"] == "WAREHOUSE"
    }
    assert {c["name"] for c in data["categories"]} == set(MENU)
    products = [e["node"] for e in data["products"]["edges"]]
    assert len(products) == sum(len(p) for p in MENU.values())
    assert all(p["category"] is not None for p in products)
    assert any(s["specs"] for p in products for s in p["skus"])
    assert [lv["level"] for lv in data["memberLevels"]] == [1, 2, 3]
    assert len(data["members"]["edges"]) == 2
    assert data["pointsRules"] == {"redeemUnitPoints": 100, "redeemUnitValue": 100}
    assert {e["node"]["status"] for e in data["promotionActivities"]["edges"]} == {"ACTIVE"}
    assert len(data["promotionActivities"]["edges"]) == 2
    templates = [e["node"] for e in data["couponTemplates"]["edges"]]
    assert {t["sharedCode"] for t in templates} == {"WELCOME5", None}
    assert {e["node"]["status"] for e in data["orders"]["edges"]} == {
        "SERVED",
        "ACCEPTED",
        "CANCELLED",
    }


async def test_demo_stock_is_at_stores_and_warehouse(
    client: httpx.AsyncClient, demo: TenantFixture
) -> None:
    data = await _counts(client, demo)
    token = await demo.token("tenant_admin")
    locations = {e["node"]["code"]: e["node"]["id"] for e in data["stockLocations"]["edges"]}
    store_id = next(
        e["node"]["id"] for e in data["stores"]["edges"] if e["node"]["code"] == "SH-002"
    )
    for location, expected in (
        (store_id, OPENING_STOCK),
        (locations[WAREHOUSE[0]], WAREHOUSE_STOCK),
    ):
        body = await gql(
            client,
            token,
            "query($s: ID!) { stockLevels(storeId: $s, first: 50) { edges { node { onHand } } } }",
            {"s": location},
        )
        assert "errors" not in body, body
        levels = {e["node"]["onHand"] for e in body["data"]["stockLevels"]["edges"]}
        assert levels == {expected}


async def test_dev_customer_is_the_member_with_points_and_a_coupon(
    client: httpx.AsyncClient, demo: TenantFixture
) -> None:
    token = await demo.token("customer", sub=DEV_CUSTOMER)
    body = await gql(
        client,
        token,
        "{ myMembership { displayName level growth } myPoints { balance } "
        "myCoupons(first: 5) { edges { node { template { name } } } } }",
    )
    assert "errors" not in body, body
    membership = body["data"]["myMembership"]
    assert membership["displayName"] == "李雷 Li Lei"
    # The served demo order's growth (1 per ¥1 paid) made him 银卡 Silver.
    assert membership["growth"] >= 50 and membership["level"] >= 2
    assert body["data"]["myPoints"]["balance"] >= WELCOME_POINTS
    # (the tour, when it ran first in this database, has used it since)
    coupons = body["data"]["myCoupons"]["edges"]
    assert [e["node"]["template"]["name"] for e in coupons] == [ISSUED_TEMPLATE]


async def test_a_dev_token_can_hold_its_role_at_one_demo_store(
    client: httpx.AsyncClient, demo: TenantFixture
) -> None:
    """``zhongtai token --role cashier --store SH-001``: that store's orders only."""
    import asyncio

    from kernel.cli import issue_token
    from schema.cli import COMPOSITION

    def mint(store: str) -> str:
        return issue_token(
            demo.settings,
            COMPOSITION,
            tenant_slug=DEMO_SLUG,
            role="cashier",
            subject_id=f"dev-till-{store.lower()}",
            store_code=store,
        )

    token = await asyncio.to_thread(mint, "SH-001")
    demo.runtime.policies.invalidate(demo.id)
    admin = await demo.token("tenant_admin")
    query = "{ orders(first: 50) { edges { node { id store { id } } } } }"
    stores = "{ stores(first: 5) { edges { node { id code } } } }"
    codes = {
        e["node"]["id"]: e["node"]["code"]
        for e in (await gql(client, admin, stores))["data"]["stores"]["edges"]
    }
    every = (await gql(client, admin, query))["data"]["orders"]["edges"]
    mine = (await gql(client, token, query))["data"]["orders"]["edges"]
    assert {codes[e["node"]["store"]["id"]] for e in mine} == {"SH-001"}
    second = await asyncio.to_thread(mint, "SH-002")
    demo.runtime.policies.invalidate(demo.id)
    theirs = (await gql(client, second, query))["data"]["orders"]["edges"]
    assert {codes[e["node"]["store"]["id"]] for e in theirs} <= {"SH-002"}
    assert len(mine) + len(theirs) == len(every)
    with pytest.raises(SystemExit, match="no store 'NOPE'"):
        await asyncio.to_thread(mint, "NOPE")
