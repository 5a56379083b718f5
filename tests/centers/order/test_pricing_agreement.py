"""``priceCart``, ``previewOrder`` and ``placeOrder`` charge the same for any cart.

docs/pricing.md promises that the two read-only prices show exactly what placing
charges. One brand with channel and store prices, a category-scoped activity (饮品8折),
a spend-and-save tier, a shared coupon code and a member level benefit; random carts
over two stores, three channels, with or without the coupon and a member. The three
answers must agree line by line (list, discount, payable, discounts by source), or
refuse with the same code.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from centers.member.pricing import LevelPricing
from centers.product import api as product_api
from centers.stock import api as stock_api
from kernel.app import Runtime
from tests.builders import open_shop
from tests.centers.order.flows import PLACE
from tests.centers.promotion.arrange import (
    PRICE,
    SET_LEVEL,
    coupon_template,
    live_activity,
    register,
)
from tests.conftest import TenantFixture, gql, make_tenant

PREVIEW = """
query($input: PreviewOrderInput!) {
  previewOrder(input: $input) {
    lines { amount { amount } discount { amount } payable { amount }
            discounts { source amount { amount } } }
    listAmount { amount } discount { amount } deliveryFee { amount } payable { amount }
  }
}
"""
PLACED = """
query($id: ID!) { order(id: $id) {
  listAmount { amount } discount { amount } deliveryFee { amount } payable { amount }
  lines { amount { amount } discount { amount } payable { amount }
          discounts { source amount { amount } } }
} }
"""
COUPON = "SAVE300"


@dataclass(frozen=True)
class Brand:
    tenant: TenantFixture
    cashier: str
    stores: tuple[uuid.UUID, uuid.UUID]
    skus: tuple[uuid.UUID, ...]
    members: tuple[uuid.UUID, ...]


async def _brand(client: httpx.AsyncClient, runtime: Runtime) -> Brand:
    product_api.set_member_pricing(LevelPricing())  # process-wide; another test may unset it
    tenant = await make_tenant(runtime, runtime.settings)
    admin = await tenant.token("tenant_admin")
    a = await open_shop(tenant)  # 1200, 800, 350 at store A
    b = await open_shop(tenant, prices=())  # store B, no SKUs of its own
    body = await gql(
        client,
        admin,
        "mutation($i: CreateCategoryInput!) { createCategory(input: $i) { category { id } } }",
        {"i": {"name": "饮品"}},
    )
    drinks = body["data"]["createCategory"]["category"]["id"]
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        _, created = await product_api.create_product(
            session,
            tenant.id,
            name="Milk tea",
            category_id=uuid.UUID(drinks),
            skus=[
                product_api.NewSku(code=f"T-{secrets.token_hex(3)}", name="Tea", price_amount=1500)
            ],
        )
        skus = (*a.sku_ids, created[0].id)
        for store in (a.store_id, b.store_id):
            for sku in skus:
                if store == a.store_id and sku in a.sku_ids:
                    continue  # open_shop stocked these
                await stock_api.adjust(
                    session,
                    tenant.id,
                    idempotency_key=f"seed-{store}-{sku}",
                    store_id=store,
                    sku_id=sku,
                    delta=10_000,
                    reason="received",
                )
    set_price = (
        """mutation($i: SetSkuPriceInput!) { setSkuPrice(input: $i) { userErrors { code } } }"""
    )
    for sku, channel, store, price in (
        (skus[0], "MINI_PROGRAM", None, 1100),  # a channel price
        (skus[1], None, b.store_id, 700),  # a store price
        (skus[3], "MINI_PROGRAM", a.store_id, 1300),  # a channel price at one store
        (skus[3], "APP", None, 1400),
    ):
        variables = {"skuId": str(sku), "channel": channel, "price": price}
        if store is not None:
            variables["storeId"] = str(store)
        done = await gql(client, admin, set_price, {"i": variables})
        assert done["data"]["setSkuPrice"]["userErrors"] == [], done
    await live_activity(
        client,
        admin,
        "PERCENT_OFF",
        {"discountBasisPoints": 2000, "scope": {"categoryIds": [drinks]}},
        name="饮品8折",
    )
    await live_activity(
        client,
        admin,
        "SPEND_AND_SAVE",
        {"tiers": [{"threshold": 3000, "discount": 300}, {"threshold": 6000, "discount": 800}]},
        name="满30减3",
    )
    await coupon_template(
        client, admin, sharedCode=COUPON, amountOff=300, minSpend=1000, perMemberLimit=1000
    )
    level = {"level": 1, "name": "Gold", "growthThreshold": 0, "discountBasisPoints": 500}
    done = await gql(client, admin, SET_LEVEL, {"input": level})
    assert done["data"]["setMemberLevel"]["userErrors"] == [], done
    return Brand(
        tenant=tenant,
        cashier=await tenant.token("cashier"),
        stores=(a.store_id, b.store_id),
        skus=skus,
        members=(await register(tenant), await register(tenant)),
    )


_BRANDS: dict[int, Brand] = {}


async def _once(client: httpx.AsyncClient, runtime: Runtime) -> Brand:
    """One brand per test run (the examples only read it, and place orders)."""
    key = id(runtime)
    if key not in _BRANDS:
        _BRANDS[key] = await _brand(client, runtime)
    return _BRANDS[key]


def _codes(errors: list[dict[str, Any]]) -> list[str]:
    return sorted(e["code"] if "code" in e else e["extensions"]["code"] for e in errors)


def _lines_of(lines: list[dict[str, Any]]) -> list[tuple[int, int, int, list[tuple[str, int]]]]:
    return [
        (
            line["amount"]["amount"],
            line["discount"]["amount"],
            line["payable"]["amount"],
            sorted((d["source"], d["amount"]["amount"]) for d in line["discounts"]),
        )
        for line in lines
    ]


carts = st.fixed_dictionaries(
    {
        "store": st.integers(0, 1),
        "channel": st.sampled_from(["MINI_PROGRAM", "APP", "POS"]),
        "lines": st.lists(
            st.tuples(st.integers(0, 3), st.integers(1, 3)),
            min_size=1,
            max_size=4,
            unique_by=lambda line: line[0],
        ),
        "coupon": st.booleans(),
        "member": st.integers(-1, 1),
    }
)


@settings(
    max_examples=10,
    deadline=None,
    # Each example places an order; shrinking would place hundreds more.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cart=carts)
async def test_price_cart_preview_and_placing_agree_for_any_cart(
    client: httpx.AsyncClient, runtime: Runtime, cart: dict[str, Any]
) -> None:
    brand = await _once(client, runtime)
    common: dict[str, Any] = {
        "storeId": str(brand.stores[cart["store"]]),
        "channel": cart["channel"],
        "lines": [{"skuId": str(brand.skus[i]), "quantity": q} for i, q in cart["lines"]],
        "couponCodes": [COUPON] if cart["coupon"] else [],
    }
    if cart["member"] >= 0:
        common["memberId"] = str(brand.members[cart["member"]])
    token = brand.cashier

    priced = (await gql(client, token, PRICE, {"input": common}))["data"]["priceCart"]
    previewed = await gql(client, token, PREVIEW, {"input": common})
    key = f"agree-{secrets.token_hex(6)}"
    placed = (await gql(client, token, PLACE, {"input": {**common, "idempotencyKey": key}}))[
        "data"
    ]["placeOrder"]

    if priced["userErrors"]:
        refused = _codes(priced["userErrors"])
        assert _codes(previewed.get("errors", [])) == refused, (cart, priced, previewed)
        assert _codes(placed["userErrors"]) == refused, (cart, priced, placed)
        return
    quote = priced["quote"]
    preview = previewed["data"]["previewOrder"]
    assert placed["userErrors"] == [], (cart, placed)
    stored = (await gql(client, token, PLACED, {"id": placed["order"]["id"]}))["data"]["order"]
    # priceCart prices goods; an order adds its delivery fee on top (none set here).
    assert preview["deliveryFee"]["amount"] == stored["deliveryFee"]["amount"] == 0
    assert (quote["subtotal"], quote["discountTotal"], quote["payableTotal"]) == (
        preview["listAmount"]["amount"],
        preview["discount"]["amount"],
        preview["payable"]["amount"],
    ), (cart, quote, preview)
    by_line: dict[int, list[tuple[str, int]]] = {}
    for allocation in quote["allocations"]:
        by_line.setdefault(allocation["lineIndex"], []).append(
            (allocation["source"], allocation["amount"])
        )
    quoted = [
        (
            line["listAmount"],
            line["discountAmount"],
            line["payableAmount"],
            sorted(by_line.get(line["lineIndex"], [])),
        )
        for line in sorted(quote["lines"], key=lambda line: line["lineIndex"])
    ]
    assert quoted == _lines_of(preview["lines"]), (cart, quote, preview)
    assert _lines_of(stored["lines"]) == _lines_of(preview["lines"]), (cart, stored, preview)
    assert stored["payable"] == preview["payable"] and stored["discount"] == preview["discount"]
