"""Another brand's catalog behaves as if absent; SKU codes are unique per brand only."""

from __future__ import annotations

import httpx

from tests.builders import open_shop
from tests.conftest import TenantFixture, gql


async def test_another_brands_catalog_is_out_of_reach(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    theirs = await open_shop(other_tenant, prices=(500,), stock=0)
    token = await tenant.token("tenant_admin")
    category = await gql(
        client,
        await other_tenant.token("tenant_admin"),
        'mutation { createCategory(input: {name: "Theirs"}) { category { id } } }',
    )
    their_category = category["data"]["createCategory"]["category"]["id"]
    created = await gql(
        client,
        token,
        "mutation($i: CreateProductInput!) { createProduct(input: $i) { userErrors { code } } }",
        {
            "i": {
                "name": "Tea",
                "categoryId": their_category,
                "skus": [{"code": "T", "name": "T", "price": 1}],
            }
        },
    )
    assert created["data"]["createProduct"]["userErrors"] == [{"code": "CATEGORY_NOT_FOUND"}]
    priced = await gql(
        client,
        token,
        "mutation($i: SetSkuPriceInput!) { setSkuPrice(input: $i) { userErrors { code } } }",
        {"i": {"skuId": str(theirs.sku_ids[0]), "channel": "pos", "price": 1}},
    )
    assert priced["data"]["setSkuPrice"]["userErrors"] == [{"code": "SKU_NOT_FOUND"}]
    categories = await gql(client, token, "{ categories { id } }")
    assert categories["data"]["categories"] == []
    # The same SKU code is free in this brand.
    their_code = await gql(
        client,
        await other_tenant.token("tenant_admin"),
        "query($id: ID!) { sku(id: $id) { code } }",
        {"id": str(theirs.sku_ids[0])},
    )
    code = their_code["data"]["sku"]["code"]
    imported = await gql(
        client,
        token,
        "mutation($i: ImportProductsInput!) { importProducts(input: $i) { created rejected { code } } }",
        {
            "i": {
                "csv": f"product_code,product_name,sku_code,sku_name,price\nP,Dish,{code},Dish,5\n"
            }
        },
    )
    assert imported["data"]["importProducts"] == {"created": 1, "rejected": []}
