"""The read bench's large brand: 200 products / 600 SKUs / 20 stores / 100,000 orders.

What the application writes, only faster. The tenant, stores and products go through
the centers' ``api`` modules (so every row a product has is there: search text,
listings); categories, stock levels and channel/store prices are plain rows of their
tables, written with ``generate_series``; the two promotions go through the GraphQL API
(``finish``, once the server runs); then 100,000 dine-in orders from the last year are
written in a few ``INSERT … SELECT`` statements with the rows one order has in the app:
the order (amounts that add up: list − discount = total, paid when paid), one
sub-order, 1–4 lines, a promotion discount on every fifth order's first line
(``order_line_discount``), its history (PLACE; then PAY, ACCEPT, MARK_READY, SERVE; or
CANCEL) and a cash payment (``payment.payment``) for each paid order. Order ids are
UUIDv7 built from ``placed_at``, as ``kernel.ids.new_id`` makes them, so "newest first"
is the id order the API pages by. One order in a thousand is the bench customer's.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from centers.product import api as product_api
from centers.store import api as store_api
from kernel.authn import mint_dev_token
from kernel.authz.rules import assign_role
from kernel.db import Database, create_engine
from kernel.settings import Settings

PRODUCTS = 200
SKUS_PER_PRODUCT = 3
STORES = 20
ORDERS = 100_000
CATEGORIES = 8
CUSTOMER = "bench-large-customer"
WINDOW = {"startsAt": "2024-01-01T00:00:00+00:00", "endsAt": "2099-01-01T00:00:00+00:00"}


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Brand:
    tenant_id: uuid.UUID
    store_id: uuid.UUID  # the store the pages read at (the first)
    product_id: uuid.UUID  # the product detail page's
    admin_token: str
    customer_subject: str
    customer_token: str
    order_id: uuid.UUID | None = None  # the order detail page's (set by ``finish``)
    notes: list[str] = field(default_factory=list)


async def seed(url: str, settings: Settings) -> Brand:
    """Tenant, stores, catalog, stock and prices (before the server starts); the
    promotions and orders come in ``finish``."""
    db = Database(create_engine(url, settings))
    slug = f"bench-large-{secrets.token_hex(3)}"
    try:
        async with db.unit_of_work() as session:
            tenant = await store_api.create_tenant(session, slug=slug, name="Bench large brand")
            stores = [
                await store_api.create_store(
                    session,
                    tenant.id,
                    code=f"S{n:03d}",
                    name=f"Bench store {n}",
                    timezone="Asia/Shanghai",
                )
                for n in range(STORES)
            ]
            await assign_role(session, tenant.id, "user:bench-admin", "tenant_admin")
            await assign_role(session, tenant.id, f"user:{CUSTOMER}", "customer")
        connection = await asyncpg.connect(_dsn(url))
        try:
            categories = [
                row["id"]
                for row in await connection.fetch(
                    """
                    INSERT INTO product.category (tenant_id, id, parent_id, name, position, created_at)
                    SELECT $1, gen_random_uuid(), NULL, 'Category ' || n, n, now()
                    FROM generate_series(1, $2) n RETURNING id
                    """,
                    tenant.id,
                    CATEGORIES,
                )
            ]
        finally:
            await connection.close()
        async with db.unit_of_work() as session:
            for n in range(PRODUCTS):
                await product_api.create_product(
                    session,
                    tenant.id,
                    name=f"Dish {n:03d}",
                    description=f"House dish number {n}",
                    category_id=categories[n % CATEGORIES],
                    attributes={"origin": "Sichuan" if n % 2 else "Shanghai"},
                    images=[f"https://img.example.com/dish-{n}.jpg"],
                    skus=[
                        product_api.NewSku(
                            code=f"D{n:03d}-{size}",
                            name=f"Dish {n:03d}, {size}",
                            price_amount=1000 + 100 * (n % 40) + 400 * k,
                            specs=(("size", size),),
                        )
                        for k, size in enumerate(("S", "M", "L")[:SKUS_PER_PRODUCT])
                    ],
                )
    finally:
        await db.dispose()

    connection = await asyncpg.connect(_dsn(url))
    try:
        store_ids = [s.id for s in stores]
        # Every SKU stocked in every store (12,000 levels), some of it reserved.
        await connection.execute(
            """
            INSERT INTO stock.level (tenant_id, store_id, sku_id, on_hand, reserved, updated_at)
            SELECT $1, st, s.id, 500, (abs(hashtext(s.id::text || st::text)) % 20), now()
            FROM product.sku s CROSS JOIN unnest($2::uuid[]) st WHERE s.tenant_id = $1
            """,
            tenant.id,
            store_ids,
        )
        # A mini-program price on every third SKU, a store price at the first store on
        # every fifth, and both on every fifteenth (the most specific one wins).
        await connection.execute(
            """
            WITH numbered AS (
              SELECT id, price_amount, row_number() OVER (ORDER BY code) AS n
              FROM product.sku WHERE tenant_id = $1
            )
            INSERT INTO product.sku_price (tenant_id, sku_id, channel, store_id, price_amount, updated_at)
            SELECT $1::uuid, id, 'mini_program', '00000000-0000-0000-0000-000000000000'::uuid,
                   price_amount - 100, now() FROM numbered WHERE n % 3 = 0
            UNION ALL
            SELECT $1, id, '', $2::uuid, price_amount + 200, now() FROM numbered WHERE n % 5 = 0
            UNION ALL
            SELECT $1, id, 'mini_program', $2, price_amount + 100, now()
            FROM numbered WHERE n % 15 = 0
            """,
            tenant.id,
            store_ids[0],
        )
        product_id = await connection.fetchval(
            "SELECT product_id FROM product.sku WHERE tenant_id = $1 AND code = 'D015-M'",
            tenant.id,
        )
    finally:
        await connection.close()
    return Brand(
        tenant_id=tenant.id,
        store_id=store_ids[0],
        product_id=product_id,
        admin_token=mint_dev_token(settings, tenant_id=tenant.id, subject_id="bench-admin"),
        customer_subject=f"user:{CUSTOMER}",
        customer_token=mint_dev_token(settings, tenant_id=tenant.id, subject_id=CUSTOMER),
    )


PROMOTION = """
mutation($i: CreatePromotionActivityInput!) { createPromotionActivity(input: $i) {
  promotionActivity { id } userErrors { code message } } }
"""
ACTIVATE = """
mutation($i: PromotionActivityIdInput!) { activatePromotionActivity(input: $i) {
  userErrors { code message } } }
"""


async def _graphql(client: httpx.AsyncClient, token: str, query: str, variables: Any) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"large tenant: {body['errors'][0]}")
    for payload in body["data"].values():
        if isinstance(payload, dict) and payload.get("userErrors"):
            raise RuntimeError(f"large tenant: {payload['userErrors'][0]}")
    return body["data"]


# The orders, their lines and amounts, in temporary tables; then every table's rows.
_ORDERS = """
CREATE TEMP TABLE bench_order ON COMMIT DROP AS
SELECT g, at,
       (lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7'
        || substr(md5($4::text || g), 1, 3) || '8' || substr(md5($4::text || g), 4, 15))::uuid AS id,
       to_char(at, 'YYMMDD') || lpad(g::text, 10, '0') AS number,
       ($1::uuid[])[1 + g % array_length($1::uuid[], 1)] AS store_id,
       CASE WHEN g % 1000 = 7 THEN $2 ELSE 'user:pos-' || (g % 50) END AS buyer,
       CASE WHEN g % 10 = 0 THEN 'PLACED' WHEN g % 10 = 1 THEN 'CANCELLED' ELSE 'SERVED' END
         AS status,
       CASE WHEN g % 2 = 0 THEN 'POS' ELSE 'MINI_PROGRAM' END AS channel
FROM (SELECT g, now() - interval '366 days' + g * ($3::int * interval '1 second') AS at
      FROM generate_series(1, $5::int) g) s
"""
_LINES = """
CREATE TEMP TABLE bench_line ON COMMIT DROP AS
WITH sku AS (
  SELECT id, code, name, price_amount, currency, row_number() OVER (ORDER BY code) - 1 AS n
  FROM product.sku WHERE tenant_id = $1
)
SELECT o.id AS order_id, o.g, k AS line_no, sku.id AS sku_id, sku.code, sku.name,
       sku.price_amount AS unit, sku.currency, q.quantity,
       sku.price_amount * q.quantity AS amount,
       CASE WHEN o.g % 5 = 0 AND k = 1 THEN sku.price_amount * q.quantity / 10 ELSE 0 END
         AS discount
FROM bench_order o
CROSS JOIN LATERAL generate_series(1, 1 + o.g % 4) k
CROSS JOIN LATERAL (SELECT 1 + (o.g + k) % 2 AS quantity) q
JOIN sku ON sku.n = (o.g * 7 + k * 13) % (SELECT count(*) FROM sku)
"""
_TRADE_ORDERS = """
INSERT INTO "order".trade_order
  (tenant_id, id, number, store_id, buyer_subject, order_type, channel, status, currency,
   list_amount, discount_amount, delivery_fee, total_amount, deposit_amount, paid_amount,
   refunded_amount, pickup_code, external_id, placed_at, status_changed_at, cancelled_at,
   cancel_reason)
SELECT $1, o.id, o.number, o.store_id, o.buyer, 'DINE_IN', o.channel, o.status, t.currency,
       t.amount, t.discount, 0, t.amount - t.discount, 0,
       CASE WHEN o.status = 'SERVED' THEN t.amount - t.discount ELSE 0 END, 0,
       CASE WHEN o.status = 'SERVED' THEN lpad((o.g % 10000)::text, 4, '0') END, NULL,
       o.at, CASE WHEN o.status = 'PLACED' THEN o.at ELSE o.at + interval '20 minutes' END,
       CASE WHEN o.status = 'CANCELLED' THEN o.at + interval '20 minutes' END,
       CASE WHEN o.status = 'CANCELLED' THEN 'guest left' END
FROM bench_order o JOIN (
  SELECT order_id, min(currency) AS currency, sum(amount) AS amount, sum(discount) AS discount
  FROM bench_line GROUP BY order_id
) t ON t.order_id = o.id
"""
_SUB_ORDERS = """
INSERT INTO "order".sub_order (tenant_id, order_id, sub_no, split_key, store_id, list_amount,
                               discount_amount, delivery_fee, payable_amount, refunded_amount)
SELECT $1, o.id, 1, 'store:' || o.store_id, o.store_id, o.list_amount, o.discount_amount, 0,
       o.total_amount, 0
FROM "order".trade_order o JOIN bench_order b ON b.id = o.id WHERE o.tenant_id = $1
"""
_ORDER_LINES = """
INSERT INTO "order".order_line (tenant_id, order_id, line_no, sub_no, sku_id, sku_code, sku_name,
                                unit_price_amount, quantity, line_amount, discount_amount,
                                payable_amount, refunded_amount)
SELECT $1, order_id, line_no, 1, sku_id, code, name, unit, quantity, amount, discount,
       amount - discount, 0
FROM bench_line
"""
_LINE_DISCOUNTS = """
INSERT INTO "order".order_line_discount (tenant_id, order_id, line_no, seq, source, source_id,
                                         label, amount)
SELECT $1, order_id, line_no, 1, 'PROMOTION', $2, $3, discount FROM bench_line WHERE discount > 0
"""
_HISTORY = """
INSERT INTO "order".order_history (tenant_id, order_id, seq, at, actor, event, from_status,
                                   to_status, reason, idempotency_key)
SELECT $1, o.id, step.seq, o.at + (step.seq - 1) * interval '5 minutes',
       CASE WHEN step.event = 'PAY' THEN 'system' ELSE o.buyer END,
       step.event, step.from_status, step.to_status,
       CASE WHEN step.event = 'CANCEL' THEN 'guest left' ELSE '' END, NULL
FROM bench_order o
JOIN (VALUES
  ('PLACED', 1, 'PLACE', NULL, 'PLACED'),
  ('SERVED', 1, 'PLACE', NULL, 'PLACED'),
  ('SERVED', 2, 'PAY', 'PLACED', 'PAID'),
  ('SERVED', 3, 'ACCEPT', 'PAID', 'ACCEPTED'),
  ('SERVED', 4, 'MARK_READY', 'ACCEPTED', 'READY'),
  ('SERVED', 5, 'SERVE', 'READY', 'SERVED'),
  ('CANCELLED', 1, 'PLACE', NULL, 'PLACED'),
  ('CANCELLED', 2, 'CANCEL', 'PLACED', 'CANCELLED')
) AS step(status, seq, event, from_status, to_status) ON step.status = o.status
"""
_PAYMENTS = """
INSERT INTO payment.payment (tenant_id, id, order_id, tender, amount, currency, status,
                             provider_reference, created_at, provider, store_id, captured_at,
                             refunded_amount)
SELECT $1, (lpad(to_hex((extract(epoch FROM o.placed_at) * 1000)::bigint + 1), 12, '0')
            || '7' || substr(md5('pay' || o.id), 1, 3) || '8'
            || substr(md5('pay' || o.id), 4, 15))::uuid,
       o.id, 'CASH', o.total_amount, o.currency, 'SUCCEEDED', NULL,
       o.placed_at + interval '5 minutes', NULL, o.store_id, o.placed_at + interval '5 minutes', 0
FROM "order".trade_order o JOIN bench_order b ON b.id = o.id
WHERE o.tenant_id = $1 AND o.paid_amount > 0
"""


async def finish(client: httpx.AsyncClient, data: Brand, url: str) -> None:
    """Promotions through the API (the server runs), then the 100,000 orders in SQL."""
    product_ids: list[str] = []
    connection = await asyncpg.connect(_dsn(url))
    try:
        product_ids = [
            str(row["id"])
            for row in await connection.fetch(
                "SELECT id FROM product.product WHERE tenant_id = $1 ORDER BY id LIMIT 40",
                data.tenant_id,
            )
        ]
    finally:
        await connection.close()
    promotions = {
        "满100减15 Spend and save": {
            "kind": "SPEND_AND_SAVE",
            "rules": {"tiers": [{"threshold": 10000, "discount": 1500}]},
        },
        "招牌菜9折 Signature dishes 10% off": {
            "kind": "PERCENT_OFF",
            "rules": {
                "discountBasisPoints": 1000,
                "priority": 10,
                "scope": {"productIds": [*product_ids, str(data.product_id)]},
            },
        },
    }
    activity_ids: dict[str, str] = {}
    for name, values in promotions.items():
        created = await _graphql(
            client, data.admin_token, PROMOTION, {"i": {"name": name, **WINDOW, **values}}
        )
        activity_ids[name] = created["createPromotionActivity"]["promotionActivity"]["id"]
        await _graphql(
            client, data.admin_token, ACTIVATE, {"i": {"activityId": activity_ids[name]}}
        )
    signature = "招牌菜9折 Signature dishes 10% off"

    stores = [
        row["id"]
        for row in await _fetch(
            url, "SELECT id FROM store.store WHERE tenant_id = $1 ORDER BY code", data.tenant_id
        )
    ]
    seconds_apart = 366 * 24 * 3600 // ORDERS  # the last year, oldest first
    connection = await asyncpg.connect(_dsn(url))
    try:
        async with connection.transaction():
            t = data.tenant_id
            await connection.execute(
                _ORDERS,
                stores,
                data.customer_subject,
                seconds_apart,
                secrets.token_hex(4),
                ORDERS,
            )
            await connection.execute(_LINES, t)
            await connection.execute(_TRADE_ORDERS, t)
            await connection.execute(_SUB_ORDERS, t)
            await connection.execute(_ORDER_LINES, t)
            await connection.execute(
                _LINE_DISCOUNTS, t, uuid.UUID(activity_ids[signature]), signature
            )
            await connection.execute(_HISTORY, t)
            await connection.execute(_PAYMENTS, t)
            # The order detail page: the newest served order with a discount.
            data.order_id = await connection.fetchval(
                """
                SELECT o.id FROM "order".trade_order o
                WHERE o.tenant_id = $1 AND o.status = 'SERVED' AND o.discount_amount > 0
                ORDER BY o.id DESC LIMIT 1
                """,
                t,
            )
        for table in (
            '"order".trade_order',
            '"order".sub_order',
            '"order".order_line',
            '"order".order_line_discount',
            '"order".order_history',
            "payment.payment",
            "stock.level",
            "product.sku_price",
        ):
            await connection.execute(f"ANALYZE {table}")
        counts = await connection.fetchrow(
            """
            SELECT (SELECT count(*) FROM "order".trade_order WHERE tenant_id = $1) AS orders,
                   (SELECT count(*) FROM "order".order_line WHERE tenant_id = $1) AS lines,
                   (SELECT count(*) FROM "order".trade_order
                    WHERE tenant_id = $1 AND buyer_subject = $2) AS customer_orders
            """,
            data.tenant_id,
            data.customer_subject,
        )
    finally:
        await connection.close()
    data.notes.append(
        f"{counts['orders']:,} orders, {counts['lines']:,} lines, "
        f"{counts['customer_orders']} of them the customer's"
    )


async def _fetch(url: str, sql: str, *args: Any) -> list[Any]:
    connection = await asyncpg.connect(_dsn(url))
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()
