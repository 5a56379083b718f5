"""Pricing a cart through the public API: each activity kind, stacking, member benefits,
coupons, points, explanations, tenant isolation and permissions."""

from __future__ import annotations

import uuid

import httpx

from centers.points import api as points_api
from centers.points import orders as points_orders
from centers.points.dto import PointsRules
from tests.builders import open_shop
from tests.centers.promotion.arrange import (
    ACTIVATE,
    SET_LEVEL,
    coupon_template,
    issue,
    live_activity,
    price_cart,
    register,
)
from tests.conftest import TenantFixture, gql


def sources(quote: dict[str, object]) -> list[tuple[int, str, int]]:
    return [
        (a["lineIndex"], a["source"], a["amount"])  # type: ignore[index]
        for a in quote["allocations"]  # type: ignore[attr-defined]
    ]


async def test_spend_and_save_takes_the_highest_tier_met_and_splits_it_over_lines(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)  # 1200, 800, 350
    await live_activity(
        client,
        admin,
        "SPEND_AND_SAVE",
        {"tiers": [{"threshold": 2000, "discount": 200}, {"threshold": 3000, "discount": 500}]},
        name="满20减2 满30减5",
    )
    result = await price_cart(
        client, admin, shop.store_id, [(shop.sku_ids[0], 2), (shop.sku_ids[1], 1)]
    )
    quote = result["quote"]
    # 2400 + 800 = 3200 meets the 3000 tier: 500 off, 2400:800 → 375 + 125.
    assert quote["subtotal"] == 3200
    assert quote["discountTotal"] == 500
    assert quote["payableTotal"] == 2700
    assert sources(quote) == [(0, "PROMOTION", 375), (1, "PROMOTION", 125)]
    assert quote["explanation"][0].startswith("满20减2 满30减5: 500 off")


async def test_percent_off_discounts_only_the_lines_in_scope(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await live_activity(
        client,
        admin,
        "PERCENT_OFF",
        {"discountBasisPoints": 2000, "scope": {"skuIds": [str(shop.sku_ids[0])]}},
    )
    quote = (
        await price_cart(client, admin, shop.store_id, [(shop.sku_ids[0], 2), (shop.sku_ids[1], 1)])
    )["quote"]
    assert sources(quote) == [(0, "PROMOTION", 480)]
    assert [line["payableAmount"] for line in quote["lines"]] == [1920, 800]


async def test_fixed_price_buy_x_get_y_and_bundle_each_price_their_lines(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    a, _, c = shop.sku_ids
    await live_activity(
        client, admin, "FIXED_PRICE", {"unitPrice": 1000, "scope": {"skuIds": [str(a)]}}
    )
    await live_activity(
        client,
        admin,
        "BUY_X_GET_Y",
        {"buyQuantity": 2, "getQuantity": 1, "scope": {"skuIds": [str(c)]}},
    )
    quote = (await price_cart(client, admin, shop.store_id, [(a, 3), (c, 3)]))["quote"]
    # 一口价 ¥10 on 3 × ¥12: 600 off; buy 2 get 1 on 3 × ¥3.50: 350 off.
    assert sorted(sources(quote)) == [(0, "PROMOTION", 600), (1, "PROMOTION", 350)]

    other = await open_shop(tenant)
    x, y, _ = other.sku_ids
    await live_activity(
        client, admin, "BUNDLE", {"bundleSkuIds": [str(x), str(y)], "bundlePrice": 1500}
    )
    bundle = (await price_cart(client, admin, other.store_id, [(x, 1), (y, 1)]))["quote"]
    # 1200 + 800 for 1500: 500 off, split 300 / 200.
    assert bundle["discountTotal"] == 500
    assert sources(bundle) == [(0, "PROMOTION", 300), (1, "PROMOTION", 200)]


async def test_exclusive_activity_is_skipped_on_lines_already_discounted_and_says_why(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await live_activity(
        client, admin, "PERCENT_OFF", {"discountBasisPoints": 1000, "priority": 10}, name="9折"
    )
    await live_activity(
        client,
        admin,
        "PERCENT_OFF",
        {"discountBasisPoints": 5000, "priority": 1, "exclusive": True},
        name="5折 exclusive",
    )
    quote = (await price_cart(client, admin, shop.store_id, [(shop.sku_ids[0], 1)]))["quote"]
    assert sources(quote) == [(0, "PROMOTION", 120)]
    assert (
        "5折 exclusive: skipped, it is exclusive and its lines already have a discount"
        in (quote["explanation"])
    )


async def test_exclusive_activity_first_by_priority_locks_its_lines(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await live_activity(
        client,
        admin,
        "PERCENT_OFF",
        {"discountBasisPoints": 5000, "priority": 10, "exclusive": True},
        name="5折 exclusive",
    )
    await live_activity(
        client, admin, "PERCENT_OFF", {"discountBasisPoints": 1000, "priority": 1}, name="9折"
    )
    quote = (await price_cart(client, admin, shop.store_id, [(shop.sku_ids[0], 1)]))["quote"]
    assert sources(quote) == [(0, "PROMOTION", 600)]
    assert "9折: skipped, its lines are taken by an exclusive activity" in quote["explanation"]


async def test_only_the_first_activity_of_a_stack_group_applies(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    first = await live_activity(
        client,
        admin,
        "PERCENT_OFF",
        {"discountBasisPoints": 1000, "priority": 5, "stackGroup": "storewide"},
        name="A",
    )
    await live_activity(
        client,
        admin,
        "PERCENT_OFF",
        {"discountBasisPoints": 3000, "priority": 1, "stackGroup": "storewide"},
        name="B",
    )
    quote = (await price_cart(client, admin, shop.store_id, [(shop.sku_ids[0], 1)]))["quote"]
    assert [a["sourceId"] for a in quote["allocations"]] == [first]
    assert "B: skipped, A of the same group 'storewide' applies" in quote["explanation"]


async def test_draft_and_out_of_scope_activities_do_not_apply(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await live_activity(
        client, admin, "PERCENT_OFF", {"discountBasisPoints": 1000, "scope": {"channels": ["POS"]}}
    )
    body = await gql(
        client,
        admin,
        """mutation($input: CreatePromotionActivityInput!) {
          createPromotionActivity(input: $input) { userErrors { code } } }""",
        {
            "input": {
                "name": "draft",
                "kind": "PERCENT_OFF",
                "startsAt": "2020-01-01T00:00:00Z",
                "endsAt": "2099-01-01T00:00:00Z",
                "rules": {"discountBasisPoints": 5000},
            }
        },
    )
    assert body["data"]["createPromotionActivity"]["userErrors"] == []
    quote = (await price_cart(client, admin, shop.store_id, [(shop.sku_ids[0], 1)], channel="APP"))[
        "quote"
    ]
    assert quote["allocations"] == []
    assert quote["payableTotal"] == 1200


async def test_member_discount_is_a_member_allocation_on_top_of_promotions(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    body = await gql(
        client,
        admin,
        SET_LEVEL,
        {
            "input": {
                "level": 1,
                "name": "Silver",
                "growthThreshold": 0,
                "discountBasisPoints": 200,
            }
        },
    )
    assert body["data"]["setMemberLevel"]["userErrors"] == []
    member = await register(tenant)
    await live_activity(
        client,
        admin,
        "SPEND_AND_SAVE",
        {"tiers": [{"threshold": 1000, "discount": 200}]},
        name="满10减2",
    )
    quote = (
        await price_cart(client, admin, shop.store_id, [(shop.sku_ids[0], 1)], memberId=str(member))
    )["quote"]
    # 1200 - 200 (promotion) = 1000; 9.8折 on it: 20 off as MEMBER.
    assert sources(quote) == [(0, "PROMOTION", 200), (0, "MEMBER", 20)]
    assert quote["payableTotal"] == 980


async def test_member_benefit_declared_undiscounted_only_skips_promoted_lines(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await gql(
        client,
        admin,
        SET_LEVEL,
        {
            "input": {
                "level": 1,
                "name": "Silver",
                "growthThreshold": 0,
                "discountBasisPoints": 1000,
                "combine": "UNDISCOUNTED_ONLY",
            }
        },
    )
    member = await register(tenant)
    await live_activity(
        client,
        admin,
        "PERCENT_OFF",
        {"discountBasisPoints": 5000, "scope": {"skuIds": [str(shop.sku_ids[0])]}},
    )
    quote = (
        await price_cart(
            client,
            admin,
            shop.store_id,
            [(shop.sku_ids[0], 1), (shop.sku_ids[1], 1)],
            memberId=str(member),
        )
    )["quote"]
    assert sources(quote) == [(0, "PROMOTION", 600), (1, "MEMBER", 80)]


async def test_member_price_replaces_the_unit_price_for_the_level(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await gql(
        client,
        admin,
        SET_LEVEL,
        {"input": {"level": 1, "name": "Silver", "growthThreshold": 0}},
    )
    body = await gql(
        client,
        admin,
        """mutation($input: SetMemberPriceInput!) {
          setMemberPrice(input: $input) { userErrors { code } } }""",
        {"input": {"level": 1, "skuId": str(shop.sku_ids[0]), "price": 999}},
    )
    assert body["data"]["setMemberPrice"]["userErrors"] == []
    member = await register(tenant)
    quote = (
        await price_cart(client, admin, shop.store_id, [(shop.sku_ids[0], 2)], memberId=str(member))
    )["quote"]
    assert sources(quote) == [(0, "MEMBER", 402)]


async def test_shared_coupon_code_discounts_above_its_minimum_spend(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await coupon_template(client, admin, sharedCode="SAVE5", minSpend=2000)
    cart = [(shop.sku_ids[0], 1), (shop.sku_ids[1], 1)]
    quote = (await price_cart(client, admin, shop.store_id, cart, couponCodes=["save5"]))["quote"]
    assert sources(quote) == [(0, "COUPON", 300), (1, "COUPON", 200)]
    short = await price_cart(
        client, admin, shop.store_id, [(shop.sku_ids[1], 1)], couponCodes=["SAVE5"]
    )
    assert short["quote"] is None
    assert short["userErrors"][0]["code"] == "COUPON_NOT_APPLICABLE"
    assert short["userErrors"][0]["field"] == ["input", "couponCodes", "0"]


async def test_issued_coupon_works_only_for_its_member(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    template = await coupon_template(
        client, admin, kind="PERCENT_OFF", amountOff=0, discountBasisPoints=1000
    )
    owner, stranger = await register(tenant), await register(tenant)
    coupon = (await issue(client, admin, template["id"], owner))["coupon"]
    cart = [(shop.sku_ids[0], 1)]
    mine = await price_cart(
        client, admin, shop.store_id, cart, memberId=str(owner), couponCodes=[coupon["code"]]
    )
    assert sources(mine["quote"]) == [(0, "COUPON", 120)]
    theirs = await price_cart(
        client, admin, shop.store_id, cart, memberId=str(stranger), couponCodes=[coupon["code"]]
    )
    assert theirs["userErrors"][0]["code"] == "COUPON_NOT_FOUND"


async def test_expired_coupon_is_refused(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await coupon_template(
        client,
        admin,
        sharedCode="OLD1",
        startsAt="2020-01-01T00:00:00Z",
        endsAt="2021-01-01T00:00:00Z",
    )
    result = await price_cart(
        client, admin, shop.store_id, [(shop.sku_ids[0], 1)], couponCodes=["OLD1"]
    )
    assert result["userErrors"][0]["code"] == "COUPON_EXPIRED"


async def test_points_redeem_as_a_discount_within_the_tenant_cap(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    member = await register(tenant)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await points_orders.set_rules(
            session,
            tenant.id,
            PointsRules(
                earn_points=1,
                earn_per_amount=100,
                redeem_unit_points=100,
                redeem_unit_value=100,
                redeem_max_bp=5000,
                expiry_days=None,
            ),
        )
        await points_api.adjust_points(
            session, tenant.id, idempotency_key="seed", member_id=member, delta=5000, reason="gift"
        )
    cart = [(shop.sku_ids[0], 1), (shop.sku_ids[1], 1)]
    quote = (
        await price_cart(
            client, admin, shop.store_id, cart, memberId=str(member), pointsToRedeem=500
        )
    )["quote"]
    assert quote["pointsRedeemed"] == 500
    assert sources(quote) == [(0, "POINTS", 300), (1, "POINTS", 200)]
    too_many = await price_cart(
        client, admin, shop.store_id, cart, memberId=str(member), pointsToRedeem=1100
    )
    assert too_many["userErrors"][0]["code"] == "POINTS_CAP_EXCEEDED"
    odd = await price_cart(
        client, admin, shop.store_id, cart, memberId=str(member), pointsToRedeem=150
    )
    assert odd["userErrors"][0]["code"] == "INVALID_POINTS"


async def test_another_tenants_activities_and_coupons_never_apply(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    other_admin = await other_tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await live_activity(client, other_admin, "PERCENT_OFF", {"discountBasisPoints": 5000})
    await coupon_template(client, other_admin, sharedCode="THEIRS")
    quote = (await price_cart(client, admin, shop.store_id, [(shop.sku_ids[0], 1)]))["quote"]
    assert quote["allocations"] == []
    refused = await price_cart(
        client, admin, shop.store_id, [(shop.sku_ids[0], 1)], couponCodes=["THEIRS"]
    )
    assert refused["userErrors"][0]["code"] == "COUPON_NOT_FOUND"


async def test_customer_prices_carts_but_cannot_manage_activities(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    customer = await tenant.token("customer")
    shop = await open_shop(tenant)
    activity_id = await live_activity(client, admin, "PERCENT_OFF", {"discountBasisPoints": 1000})
    quote = (await price_cart(client, customer, shop.store_id, [(shop.sku_ids[0], 1)]))["quote"]
    assert quote["payableTotal"] == 1080
    body = await gql(client, customer, ACTIVATE, {"input": {"activityId": activity_id}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_rules_are_checked_for_the_kind(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    body = await gql(
        client,
        admin,
        """mutation($input: CreatePromotionActivityInput!) {
          createPromotionActivity(input: $input) { userErrors { field code } } }""",
        {
            "input": {
                "name": "bad tiers",
                "kind": "SPEND_AND_SAVE",
                "startsAt": "2030-01-01T00:00:00Z",
                "endsAt": "2030-02-01T00:00:00Z",
                "rules": {"tiers": [{"threshold": 100, "discount": 500}]},
            }
        },
    )
    assert body["data"]["createPromotionActivity"]["userErrors"] == [
        {"field": ["input", "rules", "tiers", "0", "discount"], "code": "INVALID_RULES"}
    ]


async def test_a_group_buy_without_its_group_size_cannot_be_activated(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    body = await gql(
        client,
        admin,
        """mutation($input: CreatePromotionActivityInput!) {
          createPromotionActivity(input: $input) { promotionActivity { id } } }""",
        {
            "input": {
                "name": "拼团",
                "kind": "GROUP_BUY",
                "startsAt": "2030-01-01T00:00:00Z",
                "endsAt": "2030-02-01T00:00:00Z",
            }
        },
    )
    activity_id = body["data"]["createPromotionActivity"]["promotionActivity"]["id"]
    body = await gql(client, admin, ACTIVATE, {"input": {"activityId": activity_id}})
    assert [
        (e["field"], e["code"]) for e in body["data"]["activatePromotionActivity"]["userErrors"]
    ] == [(["input", "rules", "groupSize"], "INVALID_RULES")]
    assert uuid.UUID(activity_id)


async def test_a_sku_shows_the_activities_live_on_it(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    customer = await tenant.token("customer")
    shop = await open_shop(tenant)
    a, b, _ = shop.sku_ids
    everywhere = await live_activity(client, admin, "PERCENT_OFF", {"discountBasisPoints": 100})
    only_a = await live_activity(
        client,
        admin,
        "FIXED_PRICE",
        {"unitPrice": 999, "priority": 5, "scope": {"skuIds": [str(a)]}},
    )
    query = "query($id: ID!) { sku(id: $id) { id activePromotions { id } } }"
    on_a = await gql(client, customer, query, {"id": str(a)})
    on_b = await gql(client, customer, query, {"id": str(b)})
    assert [p["id"] for p in on_a["data"]["sku"]["activePromotions"]] == [only_a, everywhere]
    assert [p["id"] for p in on_b["data"]["sku"]["activePromotions"]] == [everywhere]


async def test_a_channel_scope_matches_the_channel_code_in_any_case(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    await live_activity(
        client,
        admin,
        "PERCENT_OFF",
        {"discountBasisPoints": 1000, "scope": {"channels": ["mini_program"]}},
    )
    cart = [(shop.sku_ids[0], 1)]
    quote = (await price_cart(client, admin, shop.store_id, cart, channel="MINI_PROGRAM"))["quote"]
    assert quote["payableTotal"] == 1080
