"""Demo data: a noodle-house brand ``demo`` that shows what the platform does.

Two stores and a warehouse, a categorised menu with specs, channel and store prices,
stock, three membership levels, members (one tied to the dev customer's app account),
points rules and a points balance, promotion activities (满减 tiers, a percentage
discount on drinks), coupons (a shared code and an issued one) and three orders in
different states of the restaurant state machine.

Everything goes through public contracts only: the centers' ``api.py`` where it offers
the call, and otherwise the GraphQL API itself, executed in-process as a tenant admin
(``user:demo-seed``) on the seed's own session (decision 0060). Idempotent: running it
again finds what exists and adds what is missing; orders, payments, stock and points
replay by their idempotency keys.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLSchema, execute, parse
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from centers.member import api as member_api
from centers.points import api as points_api
from centers.product import api as product_api
from centers.stock import api as stock_api
from centers.store import api as store_api
from kernel.authn import Principal
from kernel.authz.enforcers import PolicyStore
from kernel.authz.permissions import merge_grants
from kernel.authz.rules import assign_role
from kernel.cli import DemoSummary
from kernel.context import RequestContext
from kernel.db import Database, bind_tenant
from schema.subgraphs import SUBGRAPHS, composed_schema

DEMO_SLUG = "demo"
SEED_SUBJECT_ID = "demo-seed"
# The subject `zhongtai token --tenant demo --role customer` mints a token for: its app
# account is tied to the first member, so the tour's customer orders as 李雷.
DEV_CUSTOMER = "dev-customer"
STORES = (("SH-001", "外滩店 The Bund"), ("SH-002", "静安店 Jing'an"))
WAREHOUSE = ("WH-SH", "上海中央仓 Shanghai central warehouse")
OPENING_STOCK = 100
WAREHOUSE_STOCK = 500
MEMBERS = (("+8613800138000", "李雷 Li Lei"), ("+8613900139000", "韩梅梅 Han Meimei"))
WELCOME_POINTS = 2000
WINDOW = {"startsAt": "2024-01-01T00:00:00+00:00", "endsAt": "2099-01-01T00:00:00+00:00"}

# category -> product name -> [(sku code, sku name, price in 分, specs)]
Sku = tuple[str, str, int, tuple[tuple[str, str], ...]]
MENU: dict[str, dict[str, list[Sku]]] = {
    "面 Noodles": {
        "红烧牛肉面 Braised beef noodles": [
            ("BEEF-R", "Braised beef noodles, regular", 3200, (("size", "regular"),)),
            ("BEEF-L", "Braised beef noodles, large", 3800, (("size", "large"),)),
        ],
        "担担面 Dan dan noodles": [
            ("DANDAN", "Dan dan noodles", 2600, (("spicy", "medium"),)),
        ],
        "葱油拌面 Scallion oil noodles": [("SCALLION", "Scallion oil noodles", 1800, ())],
    },
    "点心 Dim sum": {
        "小笼包 Xiaolongbao": [("XLB-6", "Xiaolongbao, 6 pieces", 2800, (("pieces", "6"),))],
        "煎饺 Pan-fried dumplings": [
            ("JIANJIAO", "Pan-fried dumplings, 8 pieces", 2200, (("pieces", "8"),))
        ],
    },
    "小菜 Sides": {
        "酸辣汤 Hot and sour soup": [("SOUP", "Hot and sour soup", 1200, ())],
        "拍黄瓜 Smashed cucumber": [("CUCUMBER", "Smashed cucumber", 1000, ())],
    },
    "饮品 Drinks": {
        "豆浆 Soy milk": [("SOYMILK", "Soy milk", 600, (("temperature", "hot"),))],
        "柠檬茶 Lemon tea": [("LEMONTEA", "Hand-pressed lemon tea", 1500, (("ice", "less"),))],
        "可乐 Cola": [("COLA", "Cola, can", 500, ())],
    },
}
# Mini-program price of a SKU (the channel's own price) and a store's own price.
CHANNEL_PRICES = (("BEEF-R", "mini_program", 3000), ("XLB-6", "mini_program", 2600))
STORE_PRICES = (("COLA", "SH-002", 600),)
LEVELS = (
    # level, name, growth threshold (1 per ¥1 paid), discount in basis points, combine
    (1, "普通会员 Member", 0, 0, "STACK"),
    (2, "银卡 Silver", 50, 500, "UNDISCOUNTED_ONLY"),
    (3, "金卡 Gold", 500, 1000, "STACK"),
)
SPEND_AND_SAVE = "满100减15 满200减40 Spend and save"
DRINKS_OFF = "饮品8折 Drinks 20% off"
WELCOME_CODE = "WELCOME5"
WELCOME_TEMPLATE = "新客立减5元 ¥5 off from ¥30"
ISSUED_TEMPLATE = "会员满80减10 Member ¥10 off from ¥80"


@dataclass
class _Admin:
    """Runs GraphQL operations in-process as the seed's tenant admin, on ``session``."""

    session: AsyncSession
    principal: Principal
    policy_store: PolicyStore
    db: Database
    schema: GraphQLSchema = field(default_factory=composed_schema)

    async def run(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        ok: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """The operation's ``data``; any error, or a ``userErrors`` entry whose code is not
        in ``ok``, stops the seed with the message."""
        context = RequestContext(
            principal=self.principal,
            policy=await self.policy_store.for_tenant(self.principal.tenant_id),
            db=self.db,
            request_id=uuid.uuid4().hex,
            policies=self.policy_store,
            _session=self.session,
        )
        outcome = execute(
            self.schema, parse(query), context_value=context, variable_values=dict(variables or {})
        )
        result = await outcome if inspect.isawaitable(outcome) else outcome
        if result.errors:
            raise RuntimeError(f"demo seed: {result.errors[0].message} in {query.split('(')[0]}")
        data: dict[str, Any] = result.data or {}
        for payload in data.values():
            if isinstance(payload, dict):
                for error in payload.get("userErrors") or []:
                    if error["code"] not in ok:
                        raise RuntimeError(f"demo seed: {error['code']}: {error['message']}")
        return data


async def seed_demo(session: AsyncSession) -> DemoSummary:
    tenant = await store_api.tenant_by_slug(session, DEMO_SLUG)
    if tenant is None:
        tenant = await store_api.create_tenant(session, slug=DEMO_SLUG, name="Demo Noodle House")
    lines = [f"tenant {tenant.slug} ({tenant.id})"]
    await assign_role(session, tenant.id, f"user:{SEED_SUBJECT_ID}", "tenant_admin")
    # The admin's policy is read by its own connection: it must see the assignment.
    await session.commit()
    await bind_tenant(session, tenant.id)
    engine = session.bind
    assert isinstance(engine, AsyncEngine), "seed_demo needs a session bound to an engine"
    db = Database(engine)
    admin = _Admin(
        session=session,
        principal=Principal(
            subject=f"user:{SEED_SUBJECT_ID}", tenant_id=tenant.id, subject_id=SEED_SUBJECT_ID
        ),
        policy_store=PolicyStore(db, merge_grants([s.grants for s in SUBGRAPHS])),
        db=db,
    )
    t = tenant.id

    stores = {}
    for code, name in STORES:
        store = await store_api.store_by_code(session, t, code)
        if store is None:
            store = await store_api.create_store(
                session, t, code=code, name=name, timezone="Asia/Shanghai"
            )
        stores[code] = store
        lines.append(f"store {store.code} {store.name} ({store.id})")
    warehouse_id = await _warehouse(admin)
    lines.append(f"warehouse {WAREHOUSE[0]} {WAREHOUSE[1]} ({warehouse_id})")

    categories = await _categories(admin)
    skus: dict[str, product_api.SkuInfo] = {}
    for category, products in MENU.items():
        for product_name, variants in products.items():
            found = [await product_api.sku_by_code(session, t, v[0]) for v in variants]
            existing = [f for f in found if f is not None]
            if len(existing) == len(variants):
                skus.update((f.code, f) for f in existing)
                await _categorise(admin, existing[0].product_id, categories[category])
                continue
            _, created = await product_api.create_product(
                session,
                t,
                name=product_name,
                category_id=categories[category],
                skus=[
                    product_api.NewSku(code=c, name=n, price_amount=p, specs=specs)
                    for c, n, p, specs in variants
                ],
            )
            skus.update((s.code, s) for s in created)
    for sku_code, channel, price in CHANNEL_PRICES:
        await admin.run(
            "mutation($i: SetSkuPriceInput!) { setSkuPrice(input: $i) { userErrors { field message code } } }",
            {"i": {"skuId": str(skus[sku_code].id), "channel": channel, "price": price}},
        )
    for sku_code, store_code, price in STORE_PRICES:
        await admin.run(
            "mutation($i: SetSkuPriceInput!) { setSkuPrice(input: $i) { userErrors { field message code } } }",
            {
                "i": {
                    "skuId": str(skus[sku_code].id),
                    "storeId": str(stores[store_code].id),
                    "price": price,
                }
            },
        )
    lines.append(f"{len(categories)} categories, {len(skus)} SKUs with channel and store prices")

    for store in stores.values():
        for sku in skus.values():
            await stock_api.adjust(
                session,
                t,
                idempotency_key=f"demo-opening-{store.code}-{sku.code}",
                store_id=store.id,
                sku_id=sku.id,
                delta=OPENING_STOCK,
                reason="opening stock",
            )
    for sku in skus.values():
        await admin.run(
            "mutation($i: AdjustStockInput!) { adjustStock(input: $i) { userErrors { field message code } } }",
            {
                "i": {
                    "idempotencyKey": f"demo-opening-{WAREHOUSE[0]}-{sku.code}",
                    "storeId": warehouse_id,
                    "skuId": str(sku.id),
                    "delta": WAREHOUSE_STOCK,
                    "reason": "opening stock",
                }
            },
        )
    lines.append(
        f"stock: {OPENING_STOCK} of each SKU at each store, {WAREHOUSE_STOCK} at the warehouse"
    )

    for level, name, threshold, discount, combine in LEVELS:
        await admin.run(
            "mutation($i: SetMemberLevelInput!) { setMemberLevel(input: $i) { userErrors { field message code } } }",
            {
                "i": {
                    "level": level,
                    "name": name,
                    "growthThreshold": threshold,
                    "discountBasisPoints": discount,
                    "combine": combine,
                }
            },
        )
    await admin.run(
        "mutation($i: SetPointsRulesInput!) { setPointsRules(input: $i) { userErrors { field message code } } }",
        {
            "i": {
                "earnPerAmount": 100,
                "earnPoints": 1,
                "expiryDays": 365,
                "redeemUnitPoints": 100,
                "redeemUnitValue": 100,
                "redeemMaxBasisPoints": 5000,
            }
        },
    )
    members = []
    for phone, name in MEMBERS:
        member = await member_api.member_by_phone(session, t, phone)
        if member is None:
            member = await member_api.register_member(session, t, phone=phone, display_name=name)
        members.append(member)
        lines.append(f"member {member.display_name} {member.phone} ({member.id})")
    li_lei = members[0]
    await admin.run(
        "mutation($i: LinkMemberIdentityInput!) { linkMemberIdentity(input: $i) { userErrors { field message code } } }",
        {"i": {"memberId": str(li_lei.id), "kind": "APP", "externalId": DEV_CUSTOMER}},
    )
    await points_api.adjust_points(
        session,
        t,
        idempotency_key="demo-welcome-points",
        member_id=li_lei.id,
        delta=WELCOME_POINTS,
        reason="welcome bonus",
    )
    lines.append(
        f"levels {', '.join(n for _, n, *_ in LEVELS)}; {WELCOME_POINTS} points for "
        f"{li_lei.display_name}, whose app account is {DEV_CUSTOMER!r}"
    )

    await _promotions(admin, categories["饮品 Drinks"])
    await _coupons(admin, li_lei.id)
    lines.append(
        f"promotions: {SPEND_AND_SAVE!r}, {DRINKS_OFF!r}; coupons: shared code "
        f"{WELCOME_CODE}, and {ISSUED_TEMPLATE!r} issued to {li_lei.display_name}"
    )

    orders = await _orders(admin, stores["SH-001"].id, skus, li_lei.id)
    lines.append("orders at SH-001: " + ", ".join(f"{n} {s}" for n, s in orders))
    return DemoSummary(tenant_slug=tenant.slug, tenant_id=tenant.id, lines=lines)


async def _warehouse(admin: _Admin) -> str:
    data = await admin.run("{ stockLocations(first: 50) { edges { node { id code } } } }")
    for edge in data["stockLocations"]["edges"]:
        if edge["node"]["code"] == WAREHOUSE[0]:
            return str(edge["node"]["id"])
    created = await admin.run(
        "mutation($i: CreateWarehouseInput!) { createWarehouse(input: $i) { location { id } userErrors { field message code } } }",
        {
            "i": {
                "code": WAREHOUSE[0],
                "name": WAREHOUSE[1],
                "priority": 10,
                "latitude": 31.23,
                "longitude": 121.47,
            }
        },
    )
    return str(created["createWarehouse"]["location"]["id"])


async def _categories(admin: _Admin) -> dict[str, uuid.UUID]:
    data = await admin.run("{ categories { id name } }")
    found = {c["name"]: uuid.UUID(c["id"]) for c in data["categories"]}
    for position, name in enumerate(MENU):
        if name not in found:
            created = await admin.run(
                "mutation($i: CreateCategoryInput!) { createCategory(input: $i) { category { id } userErrors { field message code } } }",
                {"i": {"name": name, "position": position}},
            )
            found[name] = uuid.UUID(created["createCategory"]["category"]["id"])
    return found


async def _categorise(admin: _Admin, product_id: uuid.UUID, category_id: uuid.UUID) -> None:
    """File a product of an older demo (seeded before categories) in its category."""
    products = await product_api.get_products(
        admin.session, admin.principal.tenant_id, [product_id]
    )
    if product_id in products and products[product_id].category_id is None:
        await admin.run(
            "mutation($i: UpdateProductInput!) { updateProduct(input: $i) { userErrors { field message code } } }",
            {"i": {"productId": str(product_id), "categoryId": str(category_id)}},
        )


async def _promotions(admin: _Admin, drinks: uuid.UUID) -> None:
    data = await admin.run(
        "{ promotionActivities(first: 100) { edges { node { id name status } } } }"
    )
    existing = {e["node"]["name"] for e in data["promotionActivities"]["edges"]}
    wanted = {
        SPEND_AND_SAVE: {
            "kind": "SPEND_AND_SAVE",
            "rules": {
                "tiers": [
                    {"threshold": 10000, "discount": 1500},
                    {"threshold": 20000, "discount": 4000},
                ],
            },
        },
        DRINKS_OFF: {
            "kind": "PERCENT_OFF",
            "rules": {
                "discountBasisPoints": 2000,
                "priority": 10,
                "scope": {"categoryIds": [str(drinks)]},
            },
        },
    }
    for name, values in wanted.items():
        if name in existing:
            continue
        created = await admin.run(
            "mutation($i: CreatePromotionActivityInput!) { createPromotionActivity(input: $i) { promotionActivity { id } userErrors { field message code } } }",
            {"i": {"name": name, **WINDOW, **values}},
        )
        activity_id = created["createPromotionActivity"]["promotionActivity"]["id"]
        await admin.run(
            "mutation($i: PromotionActivityIdInput!) { activatePromotionActivity(input: $i) { userErrors { field message code } } }",
            {"i": {"activityId": activity_id}},
        )


async def _coupons(admin: _Admin, member_id: uuid.UUID) -> None:
    data = await admin.run("{ couponTemplates(first: 100) { edges { node { id name } } } }")
    templates = {e["node"]["name"]: e["node"]["id"] for e in data["couponTemplates"]["edges"]}
    wanted = {
        WELCOME_TEMPLATE: {
            "kind": "AMOUNT_OFF",
            "amountOff": 500,
            "minSpend": 3000,
            "sharedCode": WELCOME_CODE,
            "perMemberLimit": 1,
        },
        ISSUED_TEMPLATE: {"kind": "AMOUNT_OFF", "amountOff": 1000, "minSpend": 8000},
    }
    for name, values in wanted.items():
        if name not in templates:
            created = await admin.run(
                "mutation($i: CreateCouponTemplateInput!) { createCouponTemplate(input: $i) { couponTemplate { id } userErrors { field message code } } }",
                {"i": {"name": name, **WINDOW, **values}},
            )
            templates[name] = created["createCouponTemplate"]["couponTemplate"]["id"]
    await admin.run(
        "mutation($i: IssueCouponInput!) { issueCoupon(input: $i) { userErrors { field message code } } }",
        {
            "i": {
                "idempotencyKey": "demo-issue-member-coupon",
                "templateId": templates[ISSUED_TEMPLATE],
                "memberId": str(member_id),
            }
        },
    )


ORDER_FIELDS = "order { id number status total { amount } } userErrors { field message code }"


async def _orders(
    admin: _Admin,
    store_id: uuid.UUID,
    skus: Mapping[str, product_api.SkuInfo],
    member_id: uuid.UUID,
) -> list[tuple[str, str]]:
    """Three dine-in orders at the till: served, in the kitchen, and cancelled."""
    plans = (
        (
            "demo-order-served",
            [("BEEF-R", 2), ("XLB-6", 1), ("SOYMILK", 2)],
            ("ACCEPT", "MARK_READY", "SERVE"),
        ),
        ("demo-order-kitchen", [("DANDAN", 1), ("LEMONTEA", 1)], ("ACCEPT",)),
        ("demo-order-cancelled", [("SCALLION", 1), ("COLA", 1)], ()),
    )
    placed = []
    for key, order_lines, events in plans:
        data = await admin.run(
            f"mutation($i: PlaceOrderInput!) {{ placeOrder(input: $i) {{ {ORDER_FIELDS} }} }}",
            {
                "i": {
                    "idempotencyKey": key,
                    "storeId": str(store_id),
                    "type": "DINE_IN",
                    "channel": "POS",
                    "memberId": str(member_id) if key == "demo-order-served" else None,
                    "lines": [{"skuId": str(skus[c].id), "quantity": q} for c, q in order_lines],
                }
            },
        )
        order = data["placeOrder"]["order"]
        if order["status"] != "PLACED":  # moved on in an earlier run
            placed.append((order["number"], order["status"]))
            continue
        if not events:
            data = await admin.run(
                f"mutation($i: CancelOrderInput!) {{ cancelOrder(input: $i) {{ {ORDER_FIELDS} }} }}",
                {"i": {"orderId": order["id"], "reason": "guest left"}},
            )
            order = data["cancelOrder"]["order"]
            placed.append((order["number"], order["status"]))
            continue
        await admin.run(
            "mutation($i: RecordCashPaymentInput!) { recordCashPayment(input: $i) { userErrors { field message code } } }",
            {
                "i": {
                    "idempotencyKey": f"{key}-cash",
                    "orderId": order["id"],
                    "amount": order["total"]["amount"],
                }
            },
        )
        status = order["status"]
        for event in events:
            data = await admin.run(
                f"mutation($i: TransitionOrderInput!) {{ transitionOrder(input: $i) {{ {ORDER_FIELDS} }} }}",
                {"i": {"orderId": order["id"], "event": event, "idempotencyKey": f"{key}-{event}"}},
            )
            status = data["transitionOrder"]["order"]["status"]
        placed.append((order["number"], status))
    return placed
