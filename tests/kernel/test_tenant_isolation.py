"""A tenant's token reaches nothing of another tenant, on /graphql or a subgraph."""

from __future__ import annotations

import uuid

import httpx

from centers.member import api as member_api
from tests.builders import open_shop
from tests.centers.order.test_place_order import CANCEL, PLACE, order_input
from tests.conftest import TenantFixture, gql


async def test_tenant_b_cannot_read_or_change_tenant_a(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    a_admin = await tenant.token("tenant_admin")
    placed = await gql(client, a_admin, PLACE, order_input(shop, [1]))
    order = placed["data"]["placeOrder"]["order"]
    b_admin = await other_tenant.token("tenant_admin")

    reads = {
        "order": ("query($id: ID!) { order(id: $id) { id } }", {"id": order["id"]}),
        "orderByNumber": (
            "query($n: String!) { orderByNumber(number: $n) { id } }",
            {"n": order["number"]},
        ),
        "store": ("query($id: ID!) { store(id: $id) { id } }", {"id": str(shop.store_id)}),
        "sku": ("query($id: ID!) { sku(id: $id) { id } }", {"id": str(shop.sku_ids[0])}),
    }
    for field, (query, variables) in reads.items():
        body = await gql(client, b_admin, query, variables)
        assert body["data"][field] is None, field
    for listing in ("orders", "stores", "products"):
        body = await gql(client, b_admin, f"{{ {listing}(first: 50) {{ edges {{ cursor }} }} }}")
        assert body["data"][listing]["edges"] == [], listing

    cancel = await gql(client, b_admin, CANCEL, {"input": {"orderId": order["id"]}})
    assert cancel["data"]["cancelOrder"]["userErrors"][0]["code"] == "ORDER_NOT_FOUND"
    steal = await gql(client, b_admin, PLACE, order_input(shop, [1]))
    assert steal["data"]["placeOrder"]["userErrors"][0]["code"] == "STORE_NOT_FOUND"
    adjust = await gql(
        client,
        b_admin,
        "mutation($i: AdjustStockInput!) { adjustStock(input: $i) { userErrors { code } } }",
        {
            "i": {
                "idempotencyKey": "x",
                "storeId": str(shop.store_id),
                "skuId": str(shop.sku_ids[0]),
                "delta": -100,
                "reason": "theft",
            }
        },
    )
    assert adjust["data"]["adjustStock"]["userErrors"][0]["code"] == "STORE_NOT_FOUND"
    still = await gql(
        client, a_admin, "query($id: ID!) { order(id: $id) { status } }", {"id": order["id"]}
    )
    assert still["data"]["order"]["status"] == "PLACED"


async def test_entities_on_subgraphs_never_return_another_tenants_rows(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    a_admin = await tenant.token("tenant_admin")
    placed = await gql(client, a_admin, PLACE, order_input(shop, [1]))
    order_id = placed["data"]["placeOrder"]["order"]["id"]
    b_admin = await other_tenant.token("tenant_admin")
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        member = await member_api.register_member(
            session, tenant.id, phone="+8613800138000", display_name="Ada"
        )
    level = f"{shop.store_id}.{shop.sku_ids[0]}"
    probes = [
        ("order", "Order", order_id, "... on Order { id number }"),
        ("store", "Store", str(shop.store_id), "... on Store { id name }"),
        ("store", "Tenant", str(tenant.id), "... on Tenant { id slug }"),
        ("product", "Sku", str(shop.sku_ids[0]), "... on Sku { id name }"),
        # Other centers' partial entities ask the owner whether the id exists (0110).
        ("payment", "Order", order_id, "... on Order { id payments { id } }"),
        ("fulfillment", "Order", order_id, "... on Order { id shipments { id } }"),
        ("points", "Member", str(member.id), "... on Member { id points { balance } }"),
        ("stock", "StockLevel", level, "... on StockLevel { id onHand }"),
    ]
    for center, typename, entity_id, selection in probes:
        query = "query($r: [_Any!]!) { _entities(representations: $r) { " + selection + " } }"
        representations = [{"__typename": typename, "id": entity_id}]
        mine = await gql(
            client, a_admin, query, {"r": representations}, path=f"/subgraphs/{center}/graphql"
        )
        assert mine["data"]["_entities"][0]["id"] == entity_id, typename
        theirs = await gql(
            client, b_admin, query, {"r": representations}, path=f"/subgraphs/{center}/graphql"
        )
        assert theirs["data"]["_entities"] == [None], (center, typename, theirs)
        # An id that matches nothing is null too, never an object made up around it.
        made_up = entity_id.replace(entity_id[-12:], uuid.uuid4().hex[:12])
        nothing = await gql(
            client,
            a_admin,
            query,
            {"r": [{"__typename": typename, "id": made_up}]},
            path=f"/subgraphs/{center}/graphql",
        )
        assert nothing["data"]["_entities"] == [None], (center, typename, nothing)


async def test_entities_need_the_reference_permission(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    nobody = await tenant.token(None)
    body = await gql(
        client,
        nobody,
        'query { _entities(representations: [{__typename: "Store", id: "x"}]) { __typename } }',
        path="/subgraphs/store/graphql",
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    undeclared = await gql(
        client,
        await tenant.token("tenant_admin"),
        'query { _entities(representations: [{__typename: "Order", id: "x"}]) { __typename } }',
        path="/subgraphs/store/graphql",
    )
    assert undeclared["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_another_tenants_object_answers_exactly_like_a_missing_one(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    """Nothing in a response tells a caller that an id exists in another tenant."""
    shop = await open_shop(tenant)
    a_admin = await tenant.token("tenant_admin")
    placed = await gql(client, a_admin, PLACE, order_input(shop, [1]))
    order_id = placed["data"]["placeOrder"]["order"]["id"]
    b_admin = await other_tenant.token("tenant_admin")
    probes = [
        ("query($id: ID!) { order(id: $id) { id status } }", "id"),
        ("query($id: ID!) { store(id: $id) { id } }", "id"),
        (CANCEL, "orderId"),
    ]
    for query, name in probes:
        for real, random in (
            (order_id, str(uuid.uuid4())),
            (str(shop.store_id), str(uuid.uuid4())),
        ):
            variables = {"input": {name: real}} if name == "orderId" else {name: real}
            missing = {"input": {name: random}} if name == "orderId" else {name: random}
            theirs = await gql(client, b_admin, query, variables)
            nothing = await gql(client, b_admin, query, missing)
            for body in (theirs, nothing):
                for error in body.get("errors", []):
                    error["extensions"].pop("requestId", None)
            assert theirs == nothing, (query, theirs, nothing)
