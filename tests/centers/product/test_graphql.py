"""The product subgraph through the public API."""

from __future__ import annotations

import httpx

from tests.conftest import TenantFixture, gql

CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    product { id name skus { id code name price { amount currency } product { name } } }
    userErrors { field code }
  }
}
"""


def product_input(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "Beef noodles",
        "skus": [
            {"code": "BN-R", "name": "Regular", "price": 3200},
            {"code": "BN-L", "name": "Large", "price": 3800},
        ],
    }
    return {"input": {**base, **overrides}}


async def test_create_product_with_skus_in_tenant_currency(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    body = await gql(client, token, CREATE, product_input())
    product = body["data"]["createProduct"]["product"]
    assert [s["price"] for s in product["skus"]] == [
        {"amount": 3800, "currency": "CNY"},
        {"amount": 3200, "currency": "CNY"},
    ]
    assert {s["product"]["name"] for s in product["skus"]} == {"Beef noodles"}
    sku = await gql(
        client, token, "query($id: ID!) { sku(id: $id) { code } }", {"id": product["skus"][0]["id"]}
    )
    assert sku["data"]["sku"]["code"] == "BN-L"


async def test_product_user_errors(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    token = await tenant.token("tenant_admin")
    await gql(client, token, CREATE, product_input())
    cases = {
        "SKU_CODE_TAKEN": product_input(),
        "NO_SKUS": product_input(skus=[]),
        "INVALID_PRICE": product_input(skus=[{"code": "X1", "name": "x", "price": -1}]),
        "INVALID_SKU_CODE": product_input(skus=[{"code": "bad code", "name": "x", "price": 1}]),
        "INVALID_NAME": product_input(name="  "),
    }
    for code, variables in cases.items():
        body = await gql(client, token, CREATE, variables)
        assert [e["code"] for e in body["data"]["createProduct"]["userErrors"]] == [code]
        assert body["data"]["createProduct"]["product"] is None
    listed = await gql(client, token, "{ products(first: 10) { edges { node { id } } } }")
    assert len(listed["data"]["products"]["edges"]) == 1


async def test_cashier_cannot_create_products(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    body = await gql(client, await tenant.token("cashier"), CREATE, product_input())
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_products_paginate_with_cursors(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    for i in range(5):
        await gql(
            client,
            token,
            CREATE,
            product_input(name=f"P{i}", skus=[{"code": f"C{i}", "name": "x", "price": 100}]),
        )
    seen: list[str] = []
    after = None
    while True:
        page = await gql(
            client,
            token,
            "query($after: String) { products(first: 2, after: $after) { edges { node { name } } pageInfo { hasNextPage endCursor } } }",
            {"after": after},
        )
        connection = page["data"]["products"]
        seen.extend(e["node"]["name"] for e in connection["edges"])
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == [f"P{i}" for i in range(5)]
