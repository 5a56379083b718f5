"""One brand for the statement-count tests, with more of everything than a page holds.

The demo brand (``schema/demo.py``) plus, added through the public API: 10 more stores,
12 more products (two SKUs each, found by the tour's searches), 16 orders of the demo
customer (8 at each store, three lines each), 10 of them paid in cash and shipped, 8
more coupons for 李雷, 10 members with a points entry each, 10 coupon templates and
10 promotion activities. So every list a documented query pages holds more than 5
items, and every entity type has at least 10 to reference.

It lives in a database of its own: the tour test seeds the same demo brand (slug
``demo``) in the suite's shared database and checks exact lists on it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from centers.member import api as member_api
from centers.points import api as points_api
from centers.product import api as product_api
from centers.store import api as store_api
from kernel.app import Runtime, create_app
from kernel.migrate import upgrade
from kernel.settings import Settings
from schema.demo import WINDOW, seed_demo
from schema.subgraphs import served_api
from tests.conftest import TenantFixture, _server_url, gql
from tests.test_tour import _token

EXTRA_STORES = 10
EXTRA_PRODUCTS = 12
ORDERS_PER_STORE = 8
PAID_ORDERS = 10
EXTRA_COUPONS = 8
EXTRA_MEMBERS = 10
TEMPLATES = 10
ACTIVITIES = 10


@dataclass
class Brand:
    """The seeded brand, a client of its own app, and what the tests reference."""

    client: httpx.AsyncClient
    runtime: Runtime
    tenant: TenantFixture
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)  # entity type -> ids
    captured: dict[str, Any] = field(default_factory=dict)  # the tour's captured values

    async def token(self, role: str) -> str:
        """The tour's token for ``role`` (``cashier@SH-002``: held at that store)."""
        if role not in self.tokens:
            self.tokens[role] = await _token(self.tenant, role)
        return self.tokens[role]


async def _admin_sql(server: str, sql: str) -> None:
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(sa.text(sql))
    finally:
        await engine.dispose()


async def _run(brand: Brand, token: str, query: str, variables: dict[str, Any]) -> Any:
    body = await gql(brand.client, token, query, variables)
    assert "errors" not in body, body
    for payload in body["data"].values():
        assert not (isinstance(payload, dict) and payload.get("userErrors")), payload
    return body["data"]


PLACE = """mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
  order { id total { amount } } userErrors { code message } } }"""
PAY = """mutation($i: RecordCashPaymentInput!) { recordCashPayment(input: $i) {
  userErrors { code message } } }"""
SHIP = """mutation($i: CreateShipmentInput!) { createShipment(input: $i) {
  shipment { id } userErrors { code message } } }"""
TEMPLATE = """mutation($i: CreateCouponTemplateInput!) { createCouponTemplate(input: $i) {
  couponTemplate { id } userErrors { code message } } }"""
ISSUE = (
    """mutation($i: IssueCouponInput!) { issueCoupon(input: $i) { userErrors { code message } } }"""
)
ACTIVITY = """mutation($i: CreatePromotionActivityInput!) { createPromotionActivity(input: $i) {
  promotionActivity { id } userErrors { code message } } }"""


# The ids of the entity types the seed does not return, newest first (at most 20 each).
FOUND = {
    # the first (the batch of one) has every field a product can have: a category
    "Product": "SELECT id FROM product.product WHERE tenant_id = :t "
    "ORDER BY category_id IS NULL, id DESC LIMIT 20",
    "Sku": "SELECT id FROM product.sku WHERE tenant_id = :t ORDER BY id DESC LIMIT 20",
    "Store": "SELECT id FROM store.store WHERE tenant_id = :t ORDER BY id DESC LIMIT 20",
    "Payment": "SELECT id FROM payment.payment WHERE tenant_id = :t ORDER BY id DESC LIMIT 20",
    "PointsEntry": "SELECT id FROM points.entry WHERE tenant_id = :t ORDER BY id DESC LIMIT 20",
    "StockLevel": "SELECT store_id::text || '.' || sku_id::text FROM stock.level "
    "WHERE tenant_id = :t ORDER BY sku_id DESC, store_id LIMIT 20",
    "Tenant": "SELECT tenant_id FROM store.tenant WHERE tenant_id = :t",
}


async def _seed(brand: Brand) -> None:
    tenant_id = brand.tenant.id
    db = brand.runtime.db
    async with db.unit_of_work() as session:
        for n in range(EXTRA_STORES):
            await store_api.create_store(
                session, tenant_id, code=f"X-{n:02d}", name=f"Extra {n}", timezone="Asia/Shanghai"
            )
        for n in range(EXTRA_PRODUCTS):
            await product_api.create_product(
                session,
                tenant_id,
                name=f"牛肉面 Beef noodles {n:02d}",
                skus=[
                    product_api.NewSku(code=f"XB-{n:02d}-{s}", name=f"Beef {n} {s}", price_amount=p)
                    for s, p in (("R", 2000 + n), ("L", 2500 + n))
                ],
            )
        members = [
            await member_api.register_member(
                session, tenant_id, phone=f"+86137{n:08d}", display_name=f"Member {n}"
            )
            for n in range(EXTRA_MEMBERS)
        ]
        for member in members:
            await points_api.adjust_points(
                session,
                tenant_id,
                idempotency_key=f"counts-{member.id}",
                member_id=member.id,
                delta=100,
                reason="welcome",
            )
        stores = {
            code: await store_api.store_by_code(session, tenant_id, code)
            for code in ("SH-001", "SH-002")
        }
        li_lei = await member_api.member_by_phone(session, tenant_id, "+8613800138000")
        skus = [
            await product_api.sku_by_code(session, tenant_id, code)
            for code in ("BEEF-R", "DANDAN", "SOYMILK")
        ]
    assert li_lei is not None and all(skus) and all(stores.values())

    admin = await brand.token("tenant_admin")
    customer = await brand.token("customer")
    orders: list[tuple[str, str, int]] = []  # id, store, total
    for code, store in stores.items():
        assert store is not None
        for n in range(ORDERS_PER_STORE):
            data = await _run(
                brand,
                customer,
                PLACE,
                {
                    "i": {
                        "idempotencyKey": f"counts-{code}-{n}",
                        "storeId": str(store.id),
                        "channel": "MINI_PROGRAM",
                        "lines": [
                            {"skuId": str(sku.id), "quantity": 1 + k}
                            for k, sku in enumerate(skus)
                            if sku is not None
                        ],
                    }
                },
            )
            order = data["placeOrder"]["order"]
            orders.append((order["id"], str(store.id), order["total"]["amount"]))
    shipments = []
    for order_id, store_id, total in orders[:PAID_ORDERS]:
        await _run(
            brand,
            admin,
            PAY,
            {
                "i": {
                    "idempotencyKey": f"counts-pay-{order_id}",
                    "orderId": order_id,
                    "amount": total,
                }
            },
        )
        data = await _run(
            brand, admin, SHIP, {"i": {"orderId": order_id, "storeId": store_id, "carrier": "SF"}}
        )
        shipments.append(data["createShipment"]["shipment"]["id"])
    templates = []
    for n in range(TEMPLATES):
        data = await _run(
            brand,
            admin,
            TEMPLATE,
            {"i": {"name": f"Coupon {n}", "kind": "AMOUNT_OFF", "amountOff": 100 + n, **WINDOW}},
        )
        templates.append(data["createCouponTemplate"]["couponTemplate"]["id"])
    for n in range(EXTRA_COUPONS):
        await _run(
            brand,
            admin,
            ISSUE,
            {
                "i": {
                    "idempotencyKey": f"counts-coupon-{n}",
                    "templateId": templates[n],
                    "memberId": str(li_lei.id),
                }
            },
        )
    activities = []
    for n in range(ACTIVITIES):
        data = await _run(
            brand,
            admin,
            ACTIVITY,
            {"i": {"name": f"Activity {n}", "kind": "PERCENT_OFF", **WINDOW}},
        )
        activities.append(data["createPromotionActivity"]["promotionActivity"]["id"])
    async with db.unit_of_work(tenant_id) as session:
        for kind, sql in FOUND.items():
            rows = await session.execute(sa.text(sql), {"t": tenant_id})
            brand.ids[kind] = [str(row[0]) for row in rows]
    brand.ids.update(
        Order=[o[0] for o in orders],
        Shipment=shipments,
        Member=[str(m.id) for m in members],
        CouponTemplate=templates,
        PromotionActivity=activities,
    )


@pytest.fixture(scope="package")
async def brand() -> AsyncIterator[Brand]:
    server = make_url(_server_url())
    name = f"zt_test_counts_{os.getpid()}_{secrets.token_hex(3)}"
    await _admin_sql(server.render_as_string(hide_password=False), f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url)
        settings = Settings(
            environment="test",
            database_url=url,
            db_pool_size=5,
            db_max_overflow=5,
            jobs_enabled=False,
        )
        app = create_app(served_api(), settings)
        async with app.router.lifespan_context(app):
            runtime: Runtime = app.state.runtime
            async with runtime.db.unit_of_work() as session:
                summary = await seed_demo(session)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://zhongtai.test") as c:
                tenant = TenantFixture(
                    id=summary.tenant_id,
                    slug=summary.tenant_slug,
                    runtime=runtime,
                    settings=settings,
                )
                seeded = Brand(client=c, runtime=runtime, tenant=tenant)
                await _seed(seeded)
                yield seeded
    finally:
        await _admin_sql(
            server.render_as_string(hide_password=False),
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        )
