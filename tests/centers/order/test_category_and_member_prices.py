"""Activities scoped by category reach placeOrder (the order passes each product's
category to pricing), and member prices (会员价) reach it and the product quotes alike."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import httpx

from centers.member.pricing import LevelPricing
from centers.product import api as product_api
from centers.stock import api as stock_api
from tests.builders import Shop, open_shop
from tests.centers.order.flows import PLACE, place_input
from tests.centers.order.test_pricing import PREVIEW
from tests.centers.promotion.arrange import SET_LEVEL, live_activity, register
from tests.conftest import TenantFixture, gql


async def _sku_in_category(
    tenant: TenantFixture, shop: Shop, category: str, price: int
) -> uuid.UUID:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        _, skus = await product_api.create_product(
            session,
            tenant.id,
            name="Mooncake",
            category_id=uuid.UUID(category),
            skus=[
                product_api.NewSku(
                    code=f"M-{secrets.token_hex(3)}", name="Mooncake", price_amount=price
                )
            ],
        )
        await stock_api.adjust(
            session,
            tenant.id,
            idempotency_key=f"seed-{skus[0].id}",
            store_id=shop.store_id,
            sku_id=skus[0].id,
            delta=50,
            reason="received",
        )
    return skus[0].id


def _preview_input(variables: dict[str, Any]) -> dict[str, Any]:
    return {"input": {k: v for k, v in variables["input"].items() if k != "idempotencyKey"}}


async def test_a_category_scoped_activity_discounts_only_that_categorys_lines(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)  # 1200, 800, 350; no category
    created = await gql(
        client,
        admin,
        "mutation($i: CreateCategoryInput!) { createCategory(input: $i) { category { id } } }",
        {"i": {"name": "Mid-autumn"}},
    )
    category = created["data"]["createCategory"]["category"]["id"]
    mooncake = await _sku_in_category(tenant, shop, category, 1000)
    await live_activity(
        client,
        admin,
        "PERCENT_OFF",
        {"discountBasisPoints": 2000, "scope": {"categoryIds": [category]}},
        name="月饼8折",
    )
    variables = place_input(shop, [1])
    variables["input"]["lines"].append({"skuId": str(mooncake), "quantity": 2})
    preview = (await gql(client, admin, PREVIEW, _preview_input(variables)))["data"]["previewOrder"]
    assert [line["discount"]["amount"] for line in preview["lines"]] == [0, 400]
    assert preview["lines"][1]["discounts"] == [
        {"source": "PROMOTION", "label": "月饼8折", "amount": {"amount": 400}}
    ]
    placed = (await gql(client, admin, PLACE, variables))["data"]["placeOrder"]
    assert placed["userErrors"] == []
    assert placed["order"]["total"]["amount"] == preview["payable"]["amount"] == 1200 + 1600


async def test_a_member_price_is_charged_at_checkout_and_quoted_by_the_product_center(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    # The member subgraph registers this when loaded; registered again here because the
    # registration is process-wide and another center's test may have removed it.
    product_api.set_member_pricing(LevelPricing())
    admin = await tenant.token("tenant_admin")
    cashier = await tenant.token("cashier")
    shop = await open_shop(tenant)
    level = {"level": 1, "name": "Gold", "growthThreshold": 0, "discountBasisPoints": 500}
    assert (await gql(client, admin, SET_LEVEL, {"input": level}))["data"]["setMemberLevel"][
        "userErrors"
    ] == []
    body = await gql(
        client,
        admin,
        """mutation($input: SetMemberPriceInput!) {
          setMemberPrice(input: $input) { userErrors { code } } }""",
        {"input": {"level": 1, "skuId": str(shop.sku_ids[0]), "price": 1000}},
    )
    assert body["data"]["setMemberPrice"]["userErrors"] == []
    member = await register(tenant)

    variables = place_input(shop, [1, 1])
    variables["input"]["memberId"] = str(member)
    preview = (await gql(client, cashier, PREVIEW, _preview_input(variables)))["data"][
        "previewOrder"
    ]
    # 1200 → member price 1000, then 5% off: 950; 800 → 5% off: 760.
    assert [line["payable"]["amount"] for line in preview["lines"]] == [950, 760]
    assert {d["source"] for line in preview["lines"] for d in line["discounts"]} == {"MEMBER"}
    placed = (await gql(client, cashier, PLACE, variables))["data"]["placeOrder"]
    assert placed["userErrors"] == []
    assert placed["order"]["total"]["amount"] == 950 + 760

    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        quoted = await product_api.quote_prices(
            session, tenant.id, shop.sku_ids[:2], channel="POS", member_id=member
        )
        guest = await product_api.quote_prices(session, tenant.id, shop.sku_ids[:2], channel="POS")
    assert [quoted[s].payable.amount for s in shop.sku_ids[:2]] == [950, 760]
    assert [guest[s].member_price for s in shop.sku_ids[:2]] == [None, None]
