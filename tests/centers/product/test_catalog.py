"""Catalog depth through the API: categories, specs, attributes, images, listing, prices."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from centers.product import api as product_api
from kernel.db import Database
from kernel.money import Money
from tests.builders import open_shop
from tests.conftest import TenantFixture, gql

CREATE_CATEGORY = """
mutation($input: CreateCategoryInput!) {
  createCategory(input: $input) { category { id name parent { name } } userErrors { field code } }
}
"""
CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    product {
      id name category { name } attributes { name value } images
      skus { id code specs { name value } price { amount } }
    }
    userErrors { field code }
  }
}
"""
UPDATE = """
mutation($input: UpdateProductInput!) {
  updateProduct(input: $input) { product { name category { name } images } userErrors { field code } }
}
"""
LIST = """
mutation($input: SetChannelListingInput!) {
  setChannelListing(input: $input) { listing { channel onSale } userErrors { field code } }
}
"""
PRICE = """
mutation($input: SetSkuPriceInput!) {
  setSkuPrice(input: $input) { price { channel storeId price { amount } } userErrors { field code } }
}
"""


async def _category(
    client: httpx.AsyncClient, token: str, name: str, parent: str | None = None
) -> str:
    body = await gql(client, token, CREATE_CATEGORY, {"input": {"name": name, "parentId": parent}})
    category_id: str = body["data"]["createCategory"]["category"]["id"]
    return category_id


async def _noodles(
    client: httpx.AsyncClient, token: str, category: str | None = None
) -> dict[str, Any]:
    body = await gql(
        client,
        token,
        CREATE,
        {
            "input": {
                "name": "Beef noodle soup",
                "categoryId": category,
                "attributes": [{"name": "origin", "value": "Lanzhou"}],
                "images": ["https://img.example.com/noodles.jpg"],
                "skus": [
                    {
                        "code": f"BN-L-{uuid.uuid4().hex[:6]}",
                        "name": "Large, spicy",
                        "price": 2800,
                        "specs": [
                            {"name": "size", "value": "L"},
                            {"name": "spice", "value": "hot"},
                        ],
                    },
                    {"code": f"BN-S-{uuid.uuid4().hex[:6]}", "name": "Small", "price": 2200},
                ],
            }
        },
    )
    product: dict[str, Any] = body["data"]["createProduct"]["product"]
    return product


async def test_product_with_category_specs_attributes_and_images(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    noodles = await _category(client, token, "Noodles")
    product = await _noodles(client, token, noodles)
    assert product["category"] == {"name": "Noodles"}
    assert product["attributes"] == [{"name": "origin", "value": "Lanzhou"}]
    assert product["images"] == ["https://img.example.com/noodles.jpg"]
    specs = {s["price"]["amount"]: s["specs"] for s in product["skus"]}
    assert specs[2800] == [{"name": "size", "value": "L"}, {"name": "spice", "value": "hot"}]


async def test_categories_nest_and_names_are_unique_per_level(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    drinks = await _category(client, token, "Drinks")
    body = await gql(client, token, CREATE_CATEGORY, {"input": {"name": "Tea", "parentId": drinks}})
    assert body["data"]["createCategory"]["category"]["parent"] == {"name": "Drinks"}
    again = await gql(client, token, CREATE_CATEGORY, {"input": {"name": "Drinks"}})
    assert again["data"]["createCategory"]["userErrors"] == [
        {"field": ["input", "name"], "code": "CATEGORY_NAME_TAKEN"}
    ]
    tree = await gql(
        client, token, "query($p: ID) { categories(parentId: $p) { name } }", {"p": drinks}
    )
    assert tree["data"]["categories"] == [{"name": "Tea"}]


async def test_bad_specs_and_images_are_user_errors(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    body = await gql(
        client,
        token,
        CREATE,
        {
            "input": {
                "name": "Tea",
                "images": ["ftp://nope"],
                "skus": [{"code": "T-1", "name": "Tea", "price": 100}],
            }
        },
    )
    assert body["data"]["createProduct"]["userErrors"] == [
        {"field": ["input", "images"], "code": "INVALID_IMAGE"}
    ]
    body = await gql(
        client,
        token,
        CREATE,
        {
            "input": {
                "name": "Tea",
                "skus": [
                    {
                        "code": "T-1",
                        "name": "Tea",
                        "price": 100,
                        "specs": [{"name": "size", "value": "L"}, {"name": "size", "value": "S"}],
                    }
                ],
            }
        },
    )
    assert body["data"]["createProduct"]["userErrors"] == [
        {"field": ["input", "skus", "0", "specs"], "code": "INVALID_SPEC"}
    ]


async def test_update_changes_only_what_is_given(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    product = await _noodles(client, token, await _category(client, token, "Noodles"))
    body = await gql(
        client, token, UPDATE, {"input": {"productId": product["id"], "name": "Beef noodles"}}
    )
    assert body["data"]["updateProduct"]["product"] == {
        "name": "Beef noodles",
        "category": {"name": "Noodles"},
        "images": ["https://img.example.com/noodles.jpg"],
    }
    cleared = await gql(
        client, token, UPDATE, {"input": {"productId": product["id"], "clearCategory": True}}
    )
    assert cleared["data"]["updateProduct"]["product"]["category"] is None


async def test_listing_per_channel(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    token = await tenant.token("tenant_admin")
    product = await _noodles(client, token)
    for channel, on_sale in (("mini_program", True), ("meituan", False)):
        body = await gql(
            client,
            token,
            LIST,
            {"input": {"productId": product["id"], "channel": channel, "onSale": on_sale}},
        )
        assert body["data"]["setChannelListing"]["listing"] == {
            "channel": channel,
            "onSale": on_sale,
        }
    read = await gql(
        client,
        token,
        "query($id: ID!) { product(id: $id) { listings { channel onSale } } }",
        {"id": product["id"]},
    )
    assert read["data"]["product"]["listings"] == [
        {"channel": "meituan", "onSale": False},
        {"channel": "mini_program", "onSale": True},
    ]
    bad = await gql(
        client,
        token,
        LIST,
        {"input": {"productId": product["id"], "channel": "Mini Program", "onSale": True}},
    )
    assert bad["data"]["setChannelListing"]["userErrors"][0]["code"] == "INVALID_CHANNEL"


async def test_the_most_specific_price_wins(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, prices=(1000,), stock=0)
    token = await tenant.token("tenant_admin")
    sku, store = str(shop.sku_ids[0]), str(shop.store_id)
    for scope, amount in (
        ({"channel": "meituan"}, 1200),
        ({"storeId": store}, 900),
        ({"channel": "meituan", "storeId": store}, 1100),
    ):
        body = await gql(client, token, PRICE, {"input": {"skuId": sku, "price": amount, **scope}})
        assert body["data"]["setSkuPrice"]["userErrors"] == []
    query = """
    query($id: ID!, $store: ID!) { sku(id: $id) {
      list: priceIn { amount }
      meituan: priceIn(channel: "meituan") { amount }
      store: priceIn(channel: "pos", storeId: $store) { amount }
      both: priceIn(channel: "meituan", storeId: $store) { amount }
      prices { channel storeId }
    } }
    """
    read = (await gql(client, token, query, {"id": sku, "store": store}))["data"]["sku"]
    assert [read[k]["amount"] for k in ("list", "meituan", "store", "both")] == [
        1000,
        1200,
        900,
        1100,
    ]
    assert len(read["prices"]) == 3
    removed = await gql(
        client, token, PRICE, {"input": {"skuId": sku, "storeId": store, "price": None}}
    )
    assert removed["data"]["setSkuPrice"] == {"price": None, "userErrors": []}
    no_scope = await gql(client, token, PRICE, {"input": {"skuId": sku, "price": 5}})
    assert no_scope["data"]["setSkuPrice"]["userErrors"][0]["code"] == "NO_SCOPE"


class TenPercentOff:
    """A stand-in for the member center's pricing: 10% off for every member."""

    async def member_prices(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        member_id: uuid.UUID,
        prices: Mapping[uuid.UUID, Money],
    ) -> Mapping[uuid.UUID, Money]:
        return {sku: Money(p.amount * 9 // 10, p.currency) for sku, p in prices.items()}


async def test_member_price_hook_fills_quotes(tenant: TenantFixture, db: Database) -> None:
    shop = await open_shop(tenant, prices=(1000,), stock=0)
    sku = shop.sku_ids[0]
    registered = product_api.member_pricing()
    product_api.set_member_pricing(TenPercentOff())
    try:
        async with db.unit_of_work(tenant.id) as session:
            plain = await product_api.quote_prices(session, tenant.id, [sku])
            member = await product_api.quote_prices(
                session, tenant.id, [sku], member_id=uuid.uuid4()
            )
    finally:
        product_api.set_member_pricing(registered)
    assert plain[sku].member_price is None and plain[sku].payable == Money(1000, "CNY")
    assert member[sku].member_price == Money(900, "CNY") and member[sku].payable.amount == 900


async def test_customers_cannot_manage_the_catalog(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    body = await gql(
        client, await tenant.token("customer"), CREATE_CATEGORY, {"input": {"name": "X"}}
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_channel_prices_match_whatever_the_case_of_the_channel_code(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    sku = str(shop.sku_ids[0])
    set_price = await gql(
        client,
        token,
        "mutation($i: SetSkuPriceInput!) { setSkuPrice(input: $i) { userErrors { code } } }",
        {"i": {"skuId": sku, "channel": "MINI_PROGRAM", "price": 999}},
    )
    assert set_price["data"]["setSkuPrice"]["userErrors"] == []
    body = await gql(
        client,
        token,
        """query($id: ID!) { sku(id: $id) {
            lower: priceIn(channel: "mini_program") { amount }
            upper: priceIn(channel: "MINI_PROGRAM") { amount } } }""",
        {"id": sku},
    )
    assert body["data"]["sku"]["lower"]["amount"] == 999
    assert body["data"]["sku"]["upper"]["amount"] == 999


async def test_an_order_in_a_channel_pays_that_channels_price(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    shop = await open_shop(tenant)
    sku = str(shop.sku_ids[0])
    await gql(
        client,
        token,
        "mutation($i: SetSkuPriceInput!) { setSkuPrice(input: $i) { userErrors { code } } }",
        {"i": {"skuId": sku, "channel": "mini_program", "price": 777}},
    )
    placed = await gql(
        client,
        token,
        """mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
            order { total { amount } } userErrors { code } } }""",
        {
            "i": {
                "idempotencyKey": "channel-price-1",
                "storeId": str(shop.store_id),
                "channel": "MINI_PROGRAM",
                "lines": [{"skuId": sku, "quantity": 2}],
            }
        },
    )
    assert placed["data"]["placeOrder"]["userErrors"] == []
    assert placed["data"]["placeOrder"]["order"]["total"]["amount"] == 2 * 777
