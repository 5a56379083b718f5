"""searchProducts: words (English and Chinese), category tree, price range, channel listing,
cursor pagination, tenant isolation."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import TenantFixture, gql

SEARCH = """
query($q: String, $c: ID, $min: Int, $max: Int, $ch: String, $on: Boolean, $first: Int!, $after: String) {
  searchProducts(query: $q, categoryId: $c, minPrice: $min, maxPrice: $max, channel: $ch,
                 onSale: $on, first: $first, after: $after) {
    edges { node { name } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CREATE = """
mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id } userErrors { code } } }
"""


async def _menu(client: httpx.AsyncClient, token: str) -> dict[str, str]:
    async def category(name: str, parent: str | None = None) -> str:
        body = await gql(
            client,
            token,
            "mutation($i: CreateCategoryInput!) { createCategory(input: $i) { category { id } } }",
            {"i": {"name": name, "parentId": parent}},
        )
        found: str = body["data"]["createCategory"]["category"]["id"]
        return found

    noodles = await category("Noodles")
    soup = await category("Soup noodles", noodles)
    drinks = await category("Drinks")
    ids: dict[str, str] = {"noodles": noodles, "soup": soup, "drinks": drinks}
    for index, (name, cat, price, spec) in enumerate(
        [
            ("红烧牛肉面", soup, 2800, "辣"),
            ("Beef noodle soup", soup, 2600, "mild"),
            ("Dan dan noodles", noodles, 1800, "hot"),
            ("Jasmine tea", drinks, 600, "iced"),
            ("Milk tea", drinks, 900, "hot"),
        ]
    ):
        body = await gql(
            client,
            token,
            CREATE,
            {
                "input": {
                    "name": name,
                    "categoryId": cat,
                    "skus": [
                        {
                            "code": f"M{index}",
                            "name": name,
                            "price": price,
                            "specs": [{"name": "taste", "value": spec}],
                        }
                    ],
                }
            },
        )
        ids[name] = body["data"]["createProduct"]["product"]["id"]
    return ids


async def _names(client: httpx.AsyncClient, token: str, **variables: Any) -> list[str]:
    body = await gql(client, token, SEARCH, {"first": 20, **variables})
    return [e["node"]["name"] for e in body["data"]["searchProducts"]["edges"]]


async def test_search_by_words_category_price_and_channel(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    ids = await _menu(client, token)
    assert await _names(client, token, q="noodle") == ["Beef noodle soup", "Dan dan noodles"]
    assert await _names(client, token, q="tea HOT") == ["Milk tea"]  # spec values count
    assert await _names(client, token, q="牛肉") == ["红烧牛肉面"]  # inside a Chinese word
    assert await _names(client, token, q="面") == ["红烧牛肉面"]  # its last character alone
    assert await _names(client, token, c=ids["noodles"]) == [
        "Beef noodle soup",
        "Dan dan noodles",
        "红烧牛肉面",
    ]
    assert await _names(client, token, c=ids["soup"], max=2700) == ["Beef noodle soup"]
    assert await _names(client, token, min=800, max=2000) == ["Dan dan noodles", "Milk tea"]
    await gql(
        client,
        token,
        "mutation($i: SetChannelListingInput!) { setChannelListing(input: $i) { userErrors { code } } }",
        {"i": {"productId": ids["Jasmine tea"], "channel": "meituan", "onSale": True}},
    )
    assert await _names(client, token, ch="meituan") == ["Jasmine tea"]
    assert "Jasmine tea" not in await _names(client, token, ch="meituan", on=False)


async def test_search_pages_by_cursor(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    token = await tenant.token("customer")
    await _menu(client, await tenant.token("tenant_admin"))
    seen: list[str] = []
    after = None
    while True:
        body = await gql(client, token, SEARCH, {"first": 2, "after": after})
        page = body["data"]["searchProducts"]
        seen += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 5 and seen == sorted(seen)


async def test_search_sees_only_the_tenants_products(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    await _menu(client, await tenant.token("tenant_admin"))
    assert await _names(client, await other_tenant.token("customer"), q="noodle") == []


async def test_bad_search_input_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("customer")
    body = await gql(client, token, SEARCH, {"first": 5, "min": -1})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_PRICE"
    body = await gql(client, token, SEARCH, {"first": 5, "after": "garbage!"})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
