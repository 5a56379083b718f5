"""Demo data: a restaurant brand ``demo`` with two stores, a menu with stock, two members.

Idempotent: running it again finds what exists and adds what is missing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from centers.member import api as member_api
from centers.product import api as product_api
from centers.stock import api as stock_api
from centers.store import api as store_api
from kernel.cli import DemoSummary

DEMO_SLUG = "demo"
STORES = (("SH-001", "外滩店 The Bund"), ("SH-002", "静安店 Jing'an"))
OPENING_STOCK = 100
MEMBERS = (("+8613800138000", "李雷 Li Lei"), ("+8613900139000", "韩梅梅 Han Meimei"))

# product name -> [(sku code, sku name, price in 分)]
MENU: dict[str, list[tuple[str, str, int]]] = {
    "红烧牛肉面 Braised beef noodles": [
        ("BEEF-R", "Braised beef noodles, regular", 3200),
        ("BEEF-L", "Braised beef noodles, large", 3800),
    ],
    "担担面 Dan dan noodles": [("DANDAN", "Dan dan noodles", 2600)],
    "葱油拌面 Scallion oil noodles": [("SCALLION", "Scallion oil noodles", 1800)],
    "小笼包 Xiaolongbao": [("XLB-6", "Xiaolongbao, 6 pieces", 2800)],
    "煎饺 Pan-fried dumplings": [("JIANJIAO", "Pan-fried dumplings, 8 pieces", 2200)],
    "酸辣汤 Hot and sour soup": [("SOUP", "Hot and sour soup", 1200)],
    "拍黄瓜 Smashed cucumber": [("CUCUMBER", "Smashed cucumber", 1000)],
    "豆浆 Soy milk": [("SOYMILK", "Soy milk", 600)],
    "柠檬茶 Lemon tea": [("LEMONTEA", "Hand-pressed lemon tea", 1500)],
    "可乐 Cola": [("COLA", "Cola, can", 500)],
}


async def seed_demo(session: AsyncSession) -> DemoSummary:
    tenant = await store_api.tenant_by_slug(session, DEMO_SLUG)
    if tenant is None:
        tenant = await store_api.create_tenant(session, slug=DEMO_SLUG, name="Demo Noodle House")
    lines = [f"tenant {tenant.slug} ({tenant.id})"]

    stores = []
    for code, name in STORES:
        store = await store_api.store_by_code(session, tenant.id, code)
        if store is None:
            store = await store_api.create_store(
                session, tenant.id, code=code, name=name, timezone="Asia/Shanghai"
            )
        stores.append(store)
        lines.append(f"store {store.code} {store.name} ({store.id})")

    skus = []
    for product_name, variants in MENU.items():
        found = [await product_api.sku_by_code(session, tenant.id, code) for code, _, _ in variants]
        if any(f is None for f in found):
            _, created = await product_api.create_product(
                session,
                tenant.id,
                name=product_name,
                skus=[product_api.NewSku(code=c, name=n, price_amount=p) for c, n, p in variants],
            )
            skus.extend(created)
        else:
            skus.extend(f for f in found if f is not None)
    for store in stores:
        for sku in skus:
            await stock_api.adjust(
                session,
                tenant.id,
                idempotency_key=f"demo-opening-{store.code}-{sku.code}",
                store_id=store.id,
                sku_id=sku.id,
                delta=OPENING_STOCK,
                reason="opening stock",
            )
    lines.append(f"{len(skus)} SKUs, {OPENING_STOCK} in stock at each store")
    for phone, name in MEMBERS:
        member = await member_api.member_by_phone(session, tenant.id, phone)
        if member is None:
            member = await member_api.register_member(
                session, tenant.id, phone=phone, display_name=name
            )
        lines.append(f"member {member.display_name} {member.phone} ({member.id})")
    for sku in skus[:3]:
        lines.append(f"  sku {sku.code} {sku.name} ¥{sku.price.amount / 100:.2f} ({sku.id})")
    return DemoSummary(tenant_slug=tenant.slug, tenant_id=tenant.id, lines=lines)
