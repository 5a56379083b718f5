"""Staff holding a role at one store work on that store's orders and never another's.

A cashier or store manager assigned at store A (``assignRole`` with ``storeId``) places
orders at A, sees A's orders and after-sale requests, and fires staff events on them; for
store B the lists simply leave B's rows out, reads answer null (as for another tenant's
order), and mutations answer FORBIDDEN, whether B's order exists or not.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from centers.stock import api as stock_api
from tests.builders import Shop, open_shop
from tests.centers.order.flows import PLACE, fire, place, place_input, read
from tests.centers.order.test_after_sales import _move, _request
from tests.centers.order.test_payment_flow import _cash
from tests.conftest import TenantFixture, gql

ORDERS = """
query($storeId: ID, $buyer: String) {
  orders(first: 50, storeId: $storeId, buyer: $buyer) { edges { node { id } } }
}
"""
BY_NUMBER = "query($n: String!) { orderByNumber(number: $n) { id } }"
AFTER_SALES = "query { afterSales(first: 50) { edges { node { id } } } }"
ACCEPT = """
mutation($input: OrderActionInput!) {
  acceptOrder(input: $input) { order { id status } userErrors { code } }
}
"""
CANCEL = """
mutation($input: CancelOrderInput!) {
  cancelOrder(input: $input) { order { id status } userErrors { code } }
}
"""
ASSIGN = """
mutation($input: RoleAssignmentInput!) {
  assignRole(input: $input) { policyVersion userErrors { code field } }
}
"""
UNASSIGN = """
mutation($input: RoleAssignmentInput!) {
  unassignRole(input: $input) { policyVersion userErrors { code field } }
}
"""


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def _ids(client: httpx.AsyncClient, token: str, **variables: Any) -> set[str]:
    body = await gql(client, token, ORDERS, variables)
    assert "errors" not in body, body
    return {edge["node"]["id"] for edge in body["data"]["orders"]["edges"]}


async def _two_stores(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> tuple[Shop, Shop, dict[str, Any], dict[str, Any]]:
    """Stores A and B with one unpaid customer order each."""
    a, b = await open_shop(tenant), await open_shop(tenant)
    buyer = await tenant.token("customer")
    return a, b, await place(client, buyer, a, [1]), await place(client, buyer, b, [1])


async def test_a_cashier_at_one_store_reads_only_that_stores_orders(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    a, b, at_a, at_b = await _two_stores(client, tenant)
    cashier = await tenant.store_token("cashier", a.store_id)

    assert await _ids(client, cashier) == {at_a["id"]}
    assert await _ids(client, cashier, storeId=str(b.store_id)) == set()
    assert await _ids(client, cashier, storeId=str(a.store_id)) == {at_a["id"]}
    assert (await read(client, cashier, at_a["id"])) is not None
    assert (await read(client, cashier, at_b["id"])) is None  # as if it did not exist
    found = await gql(client, cashier, BY_NUMBER, {"n": at_b["number"]})
    assert found["data"]["orderByNumber"] is None
    found = await gql(client, cashier, BY_NUMBER, {"n": at_a["number"]})
    assert found["data"]["orderByNumber"]["id"] == at_a["id"]

    # Held at both stores: both stores' orders; tenant-wide: every order.
    both = await tenant.store_token("cashier", a.store_id, b.store_id)
    assert await _ids(client, both) == {at_a["id"], at_b["id"]}
    assert {at_a["id"], at_b["id"]} <= await _ids(client, await tenant.token("cashier"))


async def test_a_cashier_at_one_store_places_orders_only_there(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    a, b = await open_shop(tenant), await open_shop(tenant)
    cashier = await tenant.store_token("cashier", a.store_id)

    placed = await place(client, cashier, a, [1])
    refused = await gql(client, cashier, PLACE, place_input(b, [1]))
    assert _codes(refused) == ["FORBIDDEN"]
    assert refused["data"] is None or refused["data"]["placeOrder"] is None
    assert await _ids(client, cashier) == {placed["id"]}


async def test_staff_events_only_on_the_stores_where_the_role_is_held(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    a, _b, at_a, at_b = await _two_stores(client, tenant)
    for order in (at_a, at_b):
        assert await _cash(tenant, order["id"], order["total"]["amount"]) == "TAKEN"
    manager = await tenant.store_token("store_manager", a.store_id)

    seen = await read(client, manager, at_a["id"])
    assert seen is not None and seen["availableEvents"] == ["SHIP"]  # staff, at A
    shipped = await fire(client, manager, at_a["id"], "SHIP")
    assert shipped["userErrors"] == [], shipped
    assert shipped["order"]["status"] != seen["status"]

    admin = await tenant.token("tenant_admin")
    before = await read(client, admin, at_b["id"])
    for order_id in (at_b["id"], str(uuid.uuid4())):  # B's order, and no order at all
        refused = await gql(client, manager, ACCEPT, {"input": {"orderId": order_id}})
        assert _codes(refused) == ["FORBIDDEN"], refused
        fired = await fire(client, manager, order_id, "SHIP")
        assert _codes(fired) == ["FORBIDDEN"], fired
    after = await read(client, admin, at_b["id"])
    assert before is not None and after is not None and after["status"] == before["status"]


async def test_a_store_cashier_cancels_a_customers_order_at_its_store_only(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    a, _b, at_a, at_b = await _two_stores(client, tenant)
    cashier = await tenant.store_token("cashier", a.store_id)

    done = await gql(client, cashier, CANCEL, {"input": {"orderId": at_a["id"], "reason": "x"}})
    assert done["data"]["cancelOrder"]["userErrors"] == []
    assert done["data"]["cancelOrder"]["order"]["status"] == "CANCELLED"
    refused = await gql(client, cashier, CANCEL, {"input": {"orderId": at_b["id"], "reason": "x"}})
    assert _codes(refused) == ["FORBIDDEN"]


async def test_after_sales_of_other_stores_are_neither_listed_nor_moved(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    a, b = await open_shop(tenant), await open_shop(tenant)
    buyer = await tenant.token("customer")
    asked = {}
    for shop in (a, b):
        order = await place(client, buyer, shop, [1])
        assert await _cash(tenant, order["id"], order["total"]["amount"]) == "TAKEN"
        request = await _request(client, buyer, order["id"], "REFUND_ONLY")
        assert request["userErrors"] == [], request
        asked[shop.store_id] = request["afterSale"]["id"]
    manager = await tenant.store_token("store_manager", a.store_id)

    listed = await gql(client, manager, AFTER_SALES)
    assert {e["node"]["id"] for e in listed["data"]["afterSales"]["edges"]} == {asked[a.store_id]}
    refused = await _move(client, manager, asked[b.store_id], "APPROVE")
    assert _codes(refused) == ["FORBIDDEN"]
    approved = await _move(client, manager, asked[a.store_id], "APPROVE")
    assert approved["userErrors"] == [] and approved["afterSale"]["status"] == "REFUNDED"


async def test_an_assignment_made_and_removed_through_the_admin_api_takes_effect_at_once(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    a, _b, at_a, _ = await _two_stores(client, tenant)
    admin = await tenant.token("tenant_admin")
    cashier = await tenant.token(None, sub="till-7")
    assert _codes(await gql(client, cashier, ORDERS, {})) == ["FORBIDDEN"]

    scoped = {"subject": "user:till-7", "role": "cashier", "storeId": str(a.store_id)}
    given = await gql(client, admin, ASSIGN, {"input": scoped})
    assert given["data"]["assignRole"]["userErrors"] == []
    assert await _ids(client, cashier) == {at_a["id"]}

    # Removing the tenant-wide assignment (there is none) leaves the store one in place.
    tenant_wide = {"subject": "user:till-7", "role": "cashier"}
    await gql(client, admin, UNASSIGN, {"input": tenant_wide})
    assert await _ids(client, cashier) == {at_a["id"]}

    taken = await gql(client, admin, UNASSIGN, {"input": scoped})
    assert taken["data"]["unassignRole"]["userErrors"] == []
    assert _codes(await gql(client, cashier, ORDERS, {})) == ["FORBIDDEN"]


async def test_a_store_cashier_reads_what_other_centers_hang_off_its_stores_orders(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    a, _b, at_a, at_b = await _two_stores(client, tenant)
    for order in (at_a, at_b):
        assert await _cash(tenant, order["id"], order["total"]["amount"]) == "TAKEN"
    cashier = await tenant.store_token("cashier", a.store_id)
    query = "query($id: ID!) { order(id: $id) { id payments { tender amount { amount } } } }"
    body = await gql(client, cashier, query, {"id": at_a["id"]})
    assert "errors" not in body, body
    assert [p["amount"]["amount"] for p in body["data"]["order"]["payments"]] == [
        at_a["total"]["amount"]
    ]
    other = await gql(client, cashier, query, {"id": at_b["id"]})
    assert other == {"data": {"order": None}, "_status": 200}


ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { __typename SELECTION } }"


async def _entities(
    client: httpx.AsyncClient, token: str, center: str, selection: str, refs: list[Any]
) -> dict[str, Any]:
    return await gql(
        client,
        token,
        ENTITIES.replace("SELECTION", selection),
        {"r": refs},
        path=f"/subgraphs/{center}/graphql",
    )


async def test_a_gateway_reference_reaches_only_the_stores_where_the_role_is_held(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    """The subgraph endpoints a gateway calls: ``_entities`` of orders, payments and
    stock answer null for another store's, like another tenant's."""
    a, b, at_a, at_b = await _two_stores(client, tenant)
    for order in (at_a, at_b):
        assert await _cash(tenant, order["id"], order["total"]["amount"]) == "TAKEN"
    admin = await tenant.token("tenant_admin")
    tenders = "query($id: ID!) { orderPayment(orderId: $id) { tenders { id } } }"
    pay_a, pay_b = [
        (await gql(client, admin, tenders, {"id": o["id"]}))["data"]["orderPayment"]["tenders"][0][
            "id"
        ]
        for o in (at_a, at_b)
    ]
    manager = await tenant.store_token("store_manager", a.store_id)

    orders = await _entities(
        client,
        manager,
        "order",
        "... on Order { id }",
        [{"__typename": "Order", "id": at_a["id"]}, {"__typename": "Order", "id": at_b["id"]}],
    )
    assert orders["data"]["_entities"] == [{"__typename": "Order", "id": at_a["id"]}, None]
    payments = await _entities(
        client,
        manager,
        "payment",
        "... on Payment { id } ... on Order { payments { id } }",
        [
            {"__typename": "Payment", "id": pay_a},
            {"__typename": "Payment", "id": pay_b},
            {"__typename": "Order", "id": at_a["id"]},
            {"__typename": "Order", "id": at_b["id"]},
        ],
    )
    assert payments["data"]["_entities"] == [
        {"__typename": "Payment", "id": pay_a},
        None,
        {"__typename": "Order", "payments": [{"id": pay_a}]},
        None,
    ]
    sku = str(a.sku_ids[0])
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:  # A's SKU at B too
        await stock_api.adjust(
            session,
            tenant.id,
            idempotency_key=f"at-b-{sku}",
            store_id=b.store_id,
            sku_id=a.sku_ids[0],
            delta=5,
            reason="received",
        )
    every = await _entities(
        client,
        admin,
        "stock",
        "... on Sku { stockLevels { locationId } }",
        [{"__typename": "Sku", "id": sku}],
    )
    assert {x["locationId"] for x in every["data"]["_entities"][0]["stockLevels"]} == {
        str(a.store_id),
        str(b.store_id),
    }
    levels = await _entities(
        client,
        manager,
        "stock",
        "... on StockLevel { onHand } ... on Sku { stockLevels { locationId } }",
        [
            {"__typename": "StockLevel", "id": f"{a.store_id}.{sku}"},
            {"__typename": "StockLevel", "id": f"{b.store_id}.{b.sku_ids[0]}"},
            {"__typename": "Sku", "id": sku},
        ],
    )
    found = levels["data"]["_entities"]
    assert found[0]["__typename"] == "StockLevel" and found[1] is None
    assert {level["locationId"] for level in found[2]["stockLevels"]} == {str(a.store_id)}
    # A type that does not answer per store still needs the grant tenant-wide.
    store = await _entities(
        client, manager, "stock", "... on Store { id }", [{"__typename": "Store", "id": "x"}]
    )
    assert store["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # And a tenant-wide reader still reaches both stores.
    both = await _entities(
        client,
        admin,
        "order",
        "... on Order { id }",
        [{"__typename": "Order", "id": at_a["id"]}, {"__typename": "Order", "id": at_b["id"]}],
    )
    assert [e["id"] for e in both["data"]["_entities"]] == [at_a["id"], at_b["id"]]


async def test_a_fulfillment_order_reference_at_another_store_is_null(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    """The fulfillment and payment subgraphs' partial ``Order``: a role held at store A
    references A's orders; B's order and a random id answer null, never an empty
    ``{id, shipments: []}``. A tenant-wide reader reaches both stores."""
    a, _b, at_a, at_b = await _two_stores(client, tenant)
    manager = await tenant.store_token("store_manager", a.store_id)
    admin = await tenant.token("tenant_admin")
    stranger = str(uuid.uuid4())
    refs = [{"__typename": "Order", "id": i} for i in (at_a["id"], at_b["id"], stranger)]
    for center, field in (("fulfillment", "shipments"), ("payment", "payments")):
        selection = f"... on Order {{ id {field} {{ id }} }}"
        held = await _entities(client, manager, center, selection, refs)
        assert held["data"]["_entities"] == [
            {"__typename": "Order", "id": at_a["id"], field: []},
            None,
            None,
        ], (center, held)
        every = await _entities(client, admin, center, selection, refs)
        assert every["data"]["_entities"] == [
            {"__typename": "Order", "id": at_a["id"], field: []},
            {"__typename": "Order", "id": at_b["id"], field: []},
            None,
        ], (center, every)
