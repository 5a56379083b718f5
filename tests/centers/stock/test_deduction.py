"""Deduction strategies (at order / at payment), reservation TTL and payment confirmation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from centers.stock import api as stock_api
from kernel.app import Runtime
from kernel.db import Database
from kernel.errors import UserInputError
from tests.builders import open_shop
from tests.centers.stock.arrange import level, reservation_statuses, reserve
from tests.conftest import TenantFixture, gql

SAVE_SETTINGS = """
mutation($input: SaveStockSettingsInput!) {
  saveStockSettings(input: $input) {
    settings { deductionStrategy reservationTtlSeconds } userErrors { field code }
  }
}
"""
SET_PRODUCT = """
mutation($input: SetProductDeductionStrategyInput!) {
  setProductDeductionStrategy(input: $input) { strategy userErrors { field code } }
}
"""


async def _settings(
    client: httpx.AsyncClient, tenant: TenantFixture, strategy: str, ttl: int = 900
) -> dict[str, object]:
    body = await gql(
        client,
        await tenant.token("tenant_admin"),
        SAVE_SETTINGS,
        {"input": {"deductionStrategy": strategy, "reservationTtlSeconds": ttl}},
    )
    result: dict[str, object] = body["data"]["saveStockSettings"]
    return result


async def _confirm(db: Database, tenant: TenantFixture, order_id: object) -> None:
    async with db.unit_of_work(tenant.id) as session:
        await stock_api.confirm_for_order(session, tenant.id, order_id)  # type: ignore[arg-type]


async def test_at_order_holds_stock_until_payment_deducts_it(
    tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=10)
    sku = shop.sku_ids[0]
    order = await reserve(db, tenant.id, shop.store_id, {sku: 3})
    held = await level(db, tenant.id, shop.store_id, sku)
    assert (held.on_hand, held.reserved, held.available) == (10, 3, 7)
    await _confirm(db, tenant, order)
    await _confirm(db, tenant, order)  # a repeated payment callback deducts nothing more
    after = await level(db, tenant.id, shop.store_id, sku)
    assert (after.on_hand, after.reserved) == (7, 0)
    assert await reservation_statuses(db, tenant.id, order) == {sku: "DEDUCTED"}


async def test_at_payment_records_without_holding_and_payment_rechecks(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=5)
    sku = shop.sku_ids[0]
    saved = await _settings(client, tenant, "AT_PAYMENT")
    assert saved["settings"] == {"deductionStrategy": "AT_PAYMENT", "reservationTtlSeconds": 900}
    slow = await reserve(db, tenant.id, shop.store_id, {sku: 3})
    fast = await reserve(db, tenant.id, shop.store_id, {sku: 5})
    assert (await level(db, tenant.id, shop.store_id, sku)).reserved == 0
    await _confirm(db, tenant, fast)
    with pytest.raises(UserInputError) as refused:
        await _confirm(db, tenant, slow)
    assert refused.value.code == "OUT_OF_STOCK"
    after = await level(db, tenant.id, shop.store_id, sku)
    assert (after.on_hand, after.reserved) == (0, 0)
    assert await reservation_statuses(db, tenant.id, slow) == {sku: "PENDING"}


async def test_a_product_can_override_the_tenant_strategy(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant, stock=10)
    at_order, at_payment = shop.sku_ids[0], shop.sku_ids[1]
    token = await tenant.token("tenant_admin")
    product = await gql(
        client,
        token,
        "query($id: ID!) { sku(id: $id) { product { id } } }",
        {"id": str(at_payment)},
    )
    product_id = product["data"]["sku"]["product"]["id"]
    body = await gql(
        client, token, SET_PRODUCT, {"input": {"productId": product_id, "strategy": "AT_PAYMENT"}}
    )
    assert body["data"]["setProductDeductionStrategy"] == {
        "strategy": "AT_PAYMENT",
        "userErrors": [],
    }
    order = await reserve(db, tenant.id, shop.store_id, {at_order: 2, at_payment: 2})
    assert await reservation_statuses(db, tenant.id, order) == {
        at_order: "HELD",
        at_payment: "PENDING",
    }
    assert (await level(db, tenant.id, shop.store_id, at_payment)).reserved == 0


async def test_unknown_product_strategy_is_a_user_error(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    body = await gql(
        client,
        await tenant.token("tenant_admin"),
        SET_PRODUCT,
        {"input": {"productId": "0190f2a4-0000-7000-8000-000000000000", "strategy": "AT_ORDER"}},
    )
    assert body["data"]["setProductDeductionStrategy"]["userErrors"] == [
        {"field": ["input", "productId"], "code": "PRODUCT_NOT_FOUND"}
    ]


async def test_ttl_outside_bounds_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    saved = await _settings(client, tenant, "AT_ORDER", ttl=5)
    assert saved["userErrors"] == [
        {"field": ["input", "reservationTtlSeconds"], "code": "INVALID_TTL"}
    ]


async def test_settings_need_the_manage_permission(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    body = await gql(
        client,
        await tenant.token("store_manager"),
        SAVE_SETTINGS,
        {"input": {"deductionStrategy": "AT_PAYMENT"}},
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_expired_hold_is_released_by_the_durable_job(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database, runtime: Runtime
) -> None:
    shop = await open_shop(tenant, stock=4)
    sku = shop.sku_ids[0]
    await _settings(client, tenant, "AT_ORDER", ttl=60)
    order = await reserve(db, tenant.id, shop.store_id, {sku: 4})
    assert await runtime.jobs.run_due(tenant_id=tenant.id) == 0  # not due yet
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert await runtime.jobs.run_due(now=later, tenant_id=tenant.id) == 1
    assert await runtime.jobs.run_due(now=later, tenant_id=tenant.id) == 0  # fires once
    freed = await level(db, tenant.id, shop.store_id, sku)
    assert (freed.on_hand, freed.reserved) == (4, 0)
    assert await reservation_statuses(db, tenant.id, order) == {sku: "EXPIRED"}
    # A late payment re-checks: the units are still there, so it deducts them.
    await _confirm(db, tenant, order)
    assert (await level(db, tenant.id, shop.store_id, sku)).on_hand == 0


async def test_payment_after_expiry_fails_when_someone_else_bought_the_stock(
    tenant: TenantFixture, db: Database, runtime: Runtime
) -> None:
    shop = await open_shop(tenant, stock=2)
    sku = shop.sku_ids[0]
    late = await reserve(db, tenant.id, shop.store_id, {sku: 2})
    await runtime.jobs.run_due(now=datetime.now(UTC) + timedelta(hours=1), tenant_id=tenant.id)
    other = await reserve(db, tenant.id, shop.store_id, {sku: 2})
    await _confirm(db, tenant, other)
    with pytest.raises(UserInputError) as refused:
        await _confirm(db, tenant, late)
    assert refused.value.code == "OUT_OF_STOCK"


async def test_payment_cancels_the_expiry_job(
    tenant: TenantFixture, db: Database, runtime: Runtime
) -> None:
    shop = await open_shop(tenant, stock=3)
    sku = shop.sku_ids[0]
    order = await reserve(db, tenant.id, shop.store_id, {sku: 1})
    await _confirm(db, tenant, order)
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await runtime.jobs.run_due(now=later, tenant_id=tenant.id) == 0
    assert await reservation_statuses(db, tenant.id, order) == {sku: "DEDUCTED"}


async def test_release_gives_back_held_units_once(tenant: TenantFixture, db: Database) -> None:
    shop = await open_shop(tenant, stock=6)
    sku = shop.sku_ids[0]
    order = await reserve(db, tenant.id, shop.store_id, {sku: 4})
    for _ in range(2):
        async with db.unit_of_work(tenant.id) as session:
            await stock_api.release(session, tenant.id, order)
    after = await level(db, tenant.id, shop.store_id, sku)
    assert (after.on_hand, after.reserved) == (6, 0)
    assert await reservation_statuses(db, tenant.id, order) == {}
