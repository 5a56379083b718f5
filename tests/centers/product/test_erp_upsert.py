"""Inbound product sync from the ERP: upsert by external code, ordered by source version."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from centers.product import api as product_api
from kernel.db import Database
from kernel.errors import UserInputError
from tests.conftest import TenantFixture, gql


async def _push(
    db: Database, tenant: TenantFixture, version: int | None, price: int, name: str = "Tea"
) -> product_api.UpsertOutcome:
    async with db.unit_of_work(tenant.id) as session:
        return await product_api.upsert_product(
            session,
            tenant.id,
            external_code="ERP-100",
            source_version=version,
            name=name,
            attributes={"brand": "House"},
            skus=[
                product_api.NewSku(
                    code="ERP-100-M", name="Medium", price_amount=price, specs=(("size", "M"),)
                )
            ],
        )


async def test_newer_versions_apply_and_older_ones_do_not(
    tenant: TenantFixture, db: Database
) -> None:
    first = await _push(db, tenant, 5, 900)
    assert first.applied and first.created
    stale = await _push(db, tenant, 4, 100, name="Old tea")
    assert not stale.applied and stale.product.name == "Tea"
    replay = await _push(db, tenant, 5, 900)
    assert not replay.applied
    newer = await _push(db, tenant, 6, 950, name="House tea")
    assert newer.applied and not newer.created
    assert newer.product.id == first.product.id
    async with db.unit_of_work(tenant.id) as session:
        sku = await product_api.sku_by_code(session, tenant.id, "ERP-100-M")
    assert sku is not None and sku.price.amount == 950 and sku.id == first.skus[0].id


async def test_concurrent_first_messages_create_one_product(
    tenant: TenantFixture, db: Database
) -> None:
    outcomes = await asyncio.gather(*(_push(db, tenant, v, 900 + v) for v in range(1, 9)))
    assert sum(o.created for o in outcomes) == 1
    assert len({o.product.id for o in outcomes}) == 1
    async with db.unit_of_work(tenant.id) as session:
        sku = await product_api.sku_by_code(session, tenant.id, "ERP-100-M")
    assert sku is not None and sku.price.amount == 908  # the newest version won


async def test_a_sku_code_of_another_product_is_refused(
    tenant: TenantFixture, db: Database
) -> None:
    await _push(db, tenant, 1, 900)
    with pytest.raises(UserInputError) as refused:
        async with db.unit_of_work(tenant.id) as session:
            await product_api.upsert_product(
                session,
                tenant.id,
                external_code="ERP-200",
                source_version=1,
                name="Coffee",
                skus=[product_api.NewSku(code="ERP-100-M", name="Medium", price_amount=1)],
            )
    assert refused.value.code == "SKU_CODE_TAKEN"


SYNC = """
mutation($input: SyncProductsInput!) {
  syncProducts(input: $input) {
    results { applied created product { name skus { code price { amount } } } }
    userErrors { field code }
  }
}
"""


def _product(version: int, price: int, name: str = "Tea") -> dict[str, object]:
    return {
        "externalCode": "ERP-7",
        "sourceVersion": version,
        "name": name,
        "skus": [{"code": "ERP-7-M", "name": "Medium", "price": price}],
    }


async def test_products_pushed_through_the_api_apply_in_version_order(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    first = await gql(client, token, SYNC, {"input": {"products": [_product(3, 900)]}})
    assert first["data"]["syncProducts"]["results"][0]["created"] is True
    stale = await gql(client, token, SYNC, {"input": {"products": [_product(2, 100, "Old")]}})
    result = stale["data"]["syncProducts"]["results"][0]
    assert result["applied"] is False and result["product"]["name"] == "Tea"
    newer = await gql(client, token, SYNC, {"input": {"products": [_product(4, 950)]}})
    assert newer["data"]["syncProducts"]["results"][0]["product"]["skus"] == [
        {"code": "ERP-7-M", "price": {"amount": 950}}
    ]


async def test_a_bad_product_in_a_push_writes_nothing(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    bad = {**_product(1, 100), "externalCode": "ERP 8"}
    body = await gql(client, token, SYNC, {"input": {"products": [_product(1, 900), bad]}})
    assert body["data"]["syncProducts"] == {
        "results": [],
        "userErrors": [
            {"field": ["input", "products", "1", "externalCode"], "code": "INVALID_EXTERNAL_CODE"}
        ],
    }
    search = await gql(client, token, "{ searchProducts(first: 5) { edges { node { id } } } }")
    assert search["data"]["searchProducts"]["edges"] == []
    denied = await gql(
        client, await tenant.token("store_manager"), SYNC, {"input": {"products": [_product(1, 1)]}}
    )
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
