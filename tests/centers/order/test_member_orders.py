"""A member reads the orders placed for their membership, whichever channel placed them
(decision 0113): the cashier scans the member at the till, the member's app shows it."""

from __future__ import annotations

import httpx

from tests.builders import open_shop
from tests.centers.member.test_own_membership import customer_of
from tests.centers.order.flows import PLACE, place, place_input
from tests.centers.promotion.arrange import register
from tests.conftest import TenantFixture, gql

MINE = "{ orders(first: 20) { edges { node { id } } } }"
ONE = "query($id: ID!) { order(id: $id) { id number } }"


async def test_a_member_reads_the_order_a_cashier_placed_for_them_at_the_till(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    member = await register(tenant)
    app = await customer_of(tenant, member)  # the member's app account
    stranger = await customer_of(tenant, await register(tenant))
    cashier = await tenant.token("cashier")
    variables = place_input(shop, [1])
    variables["input"]["memberId"] = str(member)
    placed = (await gql(client, cashier, PLACE, variables))["data"]["placeOrder"]
    assert placed["userErrors"] == [], placed
    at_till = placed["order"]
    walk_in = await place(client, cashier, shop, [1])  # no member scanned
    own = await place(client, app, shop, [1], channel="APP")

    listed = await gql(client, app, MINE)
    assert {e["node"]["id"] for e in listed["data"]["orders"]["edges"]} == {
        at_till["id"],
        own["id"],
    }
    found = await gql(client, app, ONE, {"id": at_till["id"]})
    assert found["data"]["order"] == {"id": at_till["id"], "number": at_till["number"]}
    assert (await gql(client, app, ONE, {"id": walk_in["id"]}))["data"]["order"] is None
    assert (await gql(client, stranger, ONE, {"id": at_till["id"]}))["data"]["order"] is None
    theirs = await gql(client, stranger, MINE)
    assert theirs["data"]["orders"]["edges"] == []
