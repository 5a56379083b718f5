"""Compiled catalog reads (the menu, the product page) answer exactly what field-by-field
resolution answers: random products, SKUs, specs, channel and store prices, stock levels
in two stores, read by a tenant admin, a cashier held at one store, a customer and a
caller with no grant, with the compiled path on and off."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

import httpx
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from centers.store import api as store_api
from kernel.app import Runtime
from tests.compiled_reads import both_paths
from tests.conftest import TenantFixture, make_tenant

MENU = """
query Menu($store: ID!) { products(first: 20) { edges { node { id name
  skus { id name code priceIn(channel: "MINI_PROGRAM", storeId: $store) { amount currency }
         stock(storeId: $store) { available } } } } } }
"""

CATALOG_PAGES = """
query Pages($first: Int!, $after: String, $channel: String, $store: ID) {
  products(first: $first, after: $after) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }
    edges { cursor node { __typename id name description images externalCode
      attributes { name value } category { id name position parent { id name } }
      skus { id code name price { amount currency } specs { name value }
        prices { channel storeId price { amount currency } }
        here: priceIn(channel: $channel, storeId: $store) { amount currency }
        anywhere: priceIn { amount } } } }
  }
}
"""

PRODUCT_DETAIL = """
query Detail($id: ID!, $sku: ID!, $store: ID!) {
  product(id: $id) { id name skus { id code stock(storeId: $store) { id available onHand
    reserved lowThreshold locationId store { id } sku { id } } } }
  sku(id: $sku) { id name product { id name } }
}
"""

TEXT = st.text(st.characters(blacklist_characters="\x00", codec="utf-8"), max_size=10)
CHANNELS = ["", "mini_program", "pos"]


@st.composite
def catalog(draw: st.DrawFn) -> dict[str, Any]:
    categories = [
        {
            "id": draw(st.uuids()),
            "name": f"c{n}-{draw(TEXT)}",
            "parent": draw(st.none() | st.integers(0, n - 1)) if n else None,
        }
        for n in range(draw(st.integers(0, 3)))
    ]
    products = []
    # Codes are unique per tenant: each carries its product's (and SKU's) index.
    for p in range(draw(st.integers(0, 8))):
        skus = [
            {
                "id": draw(st.uuids()),
                "code": f"{draw(TEXT)}-{p}-{n}",
                "name": draw(TEXT),
                "price": draw(st.integers(0, 100_000)),
                "specs": draw(st.dictionaries(TEXT, TEXT, max_size=3)),
                "prices": draw(
                    st.dictionaries(
                        st.tuples(st.sampled_from(CHANNELS), st.sampled_from([None, 0, 1])),
                        st.integers(0, 100_000),
                        max_size=5,
                    )
                ),
                "stock": draw(
                    st.dictionaries(
                        st.sampled_from([0, 1]),
                        st.tuples(
                            st.integers(0, 50), st.integers(0, 50), st.none() | st.integers(0, 9)
                        ),
                        max_size=2,
                    )
                ),
            }
            for n in range(draw(st.integers(0, 3)))
        ]
        products.append(
            {
                "id": draw(st.uuids()),
                "name": draw(TEXT),
                "description": draw(TEXT),
                "attributes": draw(st.dictionaries(TEXT, TEXT, max_size=3)),
                "images": draw(st.lists(TEXT, max_size=2)),
                "external_code": draw(st.none() | TEXT.map(lambda text, p=p: f"{text}-{p}")),
                "category": draw(st.none() | st.integers(0, 2)),
                "currency": draw(st.sampled_from(["CNY", "USD"])),
                "skus": skus,
            }
        )
    return {"categories": categories, "products": products}


async def _seed(
    runtime: Runtime, tenant: uuid.UUID, stores: list[uuid.UUID], data: dict[str, Any]
) -> None:
    categories = data["categories"]
    async with runtime.db.unit_of_work(tenant) as session:
        for position, category in enumerate(categories):
            parent = category["parent"]
            await session.execute(
                sa.text(
                    'INSERT INTO "product".category (tenant_id, id, parent_id, name, position, '
                    "created_at) VALUES (:t, :id, :parent, :name, :position, now())"
                ),
                {
                    "t": tenant,
                    "id": category["id"],
                    "parent": categories[parent]["id"] if parent is not None else None,
                    "name": category["name"],
                    "position": position,
                },
            )
        for product in data["products"]:
            index = product["category"]
            await session.execute(
                sa.text(
                    'INSERT INTO "product".product (tenant_id, id, name, description, created_at, '
                    "category_id, attributes, images, external_code) VALUES (:t, :id, :name, "
                    ":description, now(), :category, CAST(:attributes AS jsonb), "
                    "CAST(:images AS jsonb), :external)"
                ),
                {
                    "t": tenant,
                    "id": product["id"],
                    "name": product["name"],
                    "description": product["description"],
                    "category": categories[index]["id"]
                    if index is not None and index < len(categories)
                    else None,
                    "attributes": json.dumps(product["attributes"]),
                    "images": json.dumps(product["images"]),
                    "external": product["external_code"],
                },
            )
            for sku in product["skus"]:
                await session.execute(
                    sa.text(
                        'INSERT INTO "product".sku (tenant_id, id, product_id, code, name, '
                        "price_amount, currency, created_at, specs) VALUES (:t, :id, :product, "
                        ":code, :name, :price, :currency, now(), CAST(:specs AS jsonb))"
                    ),
                    {
                        "t": tenant,
                        "id": sku["id"],
                        "product": product["id"],
                        "code": f"{sku['code']}-{secrets.token_hex(3)}",
                        "name": sku["name"],
                        "price": sku["price"],
                        "currency": product["currency"],
                        "specs": json.dumps(sku["specs"]),
                    },
                )
                for (channel, store), price in sku["prices"].items():
                    await session.execute(
                        sa.text(
                            'INSERT INTO "product".sku_price (tenant_id, sku_id, channel, store_id, '
                            "price_amount, updated_at) VALUES (:t, :sku, :channel, :store, :price, now())"
                        ),
                        {
                            "t": tenant,
                            "sku": sku["id"],
                            "channel": channel,
                            "store": stores[store] if store is not None else uuid.UUID(int=0),
                            "price": price,
                        },
                    )
                for store, (reserved, more, low) in sku["stock"].items():
                    await session.execute(
                        sa.text(
                            'INSERT INTO "stock".level (tenant_id, store_id, sku_id, on_hand, '
                            "reserved, low_threshold, updated_at) VALUES (:t, :store, :sku, :on_hand, :reserved, "
                            ":low, now())"
                        ),
                        {
                            "t": tenant,
                            "store": stores[store],
                            "sku": sku["id"],
                            "on_hand": reserved + more,
                            "reserved": reserved,
                            "low": low,
                        },
                    )


async def _stores(tenant: TenantFixture) -> list[uuid.UUID]:
    async with tenant.runtime.db.unit_of_work() as session:
        return [
            (
                await store_api.create_store(
                    session,
                    tenant.id,
                    code=f"S{n}-{secrets.token_hex(3)}",
                    name=f"Store {n}",
                    timezone="Asia/Shanghai",
                )
            ).id
            for n in range(2)
        ]


@settings(
    max_examples=10,
    phases=[__import__("hypothesis").Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=catalog(), first=st.integers(1, 4), pick=st.randoms())
async def test_catalog_reads_answer_the_same_bytes_on_both_paths(
    client: httpx.AsyncClient, runtime: Runtime, data: dict[str, Any], first: int, pick: Any
) -> None:
    tenant = await make_tenant(runtime, runtime.settings)
    stores = await _stores(tenant)
    await _seed(runtime, tenant.id, stores, data)
    callers = {
        "tenant_admin": await tenant.token("tenant_admin"),
        "cashier_at_store": await tenant.store_token("cashier", stores[0]),
        "customer": await tenant.token("customer"),
        "no_grant": await tenant.token(None),
    }
    skus = [s["id"] for p in data["products"] for s in p["skus"]]
    for role, token in callers.items():
        # The two stores, and a store that is nobody's (no stock level made up there).
        for n, store in enumerate([*stores, uuid.uuid4()]):
            answer = await both_paths(client, runtime, token, MENU, {"store": str(store)})
            # A cashier held at store 0 reads store 1's stock nowhere: FORBIDDEN, generic.
            held = role != "cashier_at_store" or n == 0
            assert answer.compiled == (role != "no_grant" and held), (role, n)
        after = None
        for _ in range(4):
            variables = {
                "first": first,
                "after": after,
                "channel": pick.choice(["MINI_PROGRAM", "pos", "", None, "app"]),
                "store": pick.choice([str(stores[0]), str(stores[1]), "not-an-id", None]),
            }
            answer = await both_paths(client, runtime, token, CATALOG_PAGES, variables)
            assert answer.compiled == (role != "no_grant"), role
            if not answer.compiled:
                break
            page = json.loads(answer.body)["data"]["products"]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        for product in data["products"][:2]:
            variables = {
                "id": str(product["id"]),
                "sku": str(pick.choice(skus)) if skus else "nope",
                "store": str(stores[0]),
            }
            answer = await both_paths(client, runtime, token, PRODUCT_DETAIL, variables)
            assert answer.compiled == (role != "no_grant"), role
