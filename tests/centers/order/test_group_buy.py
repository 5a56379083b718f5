"""Group buy (拼团) through the public API: an order opens or joins a group at the group
price; the group completes when its size of orders paid; a window that ends short
cancels or refunds every member order by durable jobs; a group never takes more members
than its size, even under concurrent joiners."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from centers.order import api as order_api
from centers.payment import api as payment_api
from kernel.db import Database
from tests.builders import Shop, open_shop
from tests.centers.order.flows import PLACE, fire, place_input
from tests.centers.order.test_payment_flow import _cash
from tests.centers.order.test_place_order import stock_of
from tests.centers.promotion.arrange import live_activity
from tests.conftest import TenantFixture, gql

GROUP = """
query($id: ID!) { order(id: $id) {
  status total { amount } refunded { amount }
  groupBuy { id size paid members status }
} }
"""


async def _group_activity(client: httpx.AsyncClient, admin: str, shop: Shop, size: int) -> str:
    return await live_activity(
        client,
        admin,
        "GROUP_BUY",
        {
            "unitPrice": 900,
            "groupSize": size,
            "groupMinutes": 30,
            "scope": {"skuIds": [str(shop.sku_ids[0])]},
        },
        name="3人团",
    )


async def _place(
    client: httpx.AsyncClient, token: str, shop: Shop, group: dict[str, str]
) -> dict[str, Any]:
    variables = place_input(shop, [1])
    variables["input"]["groupBuy"] = group
    body = await gql(client, token, PLACE, variables)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


async def _read(client: httpx.AsyncClient, token: str, order_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await gql(client, token, GROUP, {"id": order_id}))["data"]["order"]
    return found


async def test_a_group_completes_when_its_size_of_orders_paid_and_only_then_ships(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    staff = await tenant.token("cashier")
    shop = await open_shop(tenant)
    activity = await _group_activity(client, admin, shop, 2)
    first = await _place(client, staff, shop, {"activityId": activity})
    assert first["userErrors"] == []
    assert first["order"]["total"]["amount"] == 900  # the group price, not 1200
    group = (await _read(client, staff, first["order"]["id"]))["groupBuy"]
    assert (group["size"], group["members"], group["status"]) == (2, 1, "OPEN")
    # Without joining, the same goods cost the ordinary price.
    alone = (await gql(client, staff, PLACE, place_input(shop, [1])))["data"]["placeOrder"]
    assert alone["order"]["total"]["amount"] == 1200

    assert await _cash(tenant, first["order"]["id"], 900) == "TAKEN"
    early = await fire(client, staff, first["order"]["id"], "SHIP")
    assert [e["code"] for e in early["userErrors"]] == ["GROUP_NOT_COMPLETE"]

    second = await _place(client, staff, shop, {"activityId": activity, "groupId": group["id"]})
    assert second["userErrors"] == []
    assert await _cash(tenant, second["order"]["id"], 900) == "TAKEN"
    done = (await _read(client, staff, first["order"]["id"]))["groupBuy"]
    assert (done["paid"], done["status"]) == (2, "COMPLETED")
    shipped = await fire(client, staff, first["order"]["id"], "SHIP")
    assert shipped["userErrors"] == [] and shipped["order"]["status"] == "SHIPPED"
    closed = await _place(client, staff, shop, {"activityId": activity, "groupId": group["id"]})
    assert [e["code"] for e in closed["userErrors"]] == ["GROUP_CLOSED"]


async def test_concurrent_joiners_never_make_a_group_bigger_than_its_size(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    staff = await tenant.token("cashier")
    shop = await open_shop(tenant)
    activity = await _group_activity(client, admin, shop, 3)
    opened = await _place(client, staff, shop, {"activityId": activity})
    group_id = (await _read(client, staff, opened["order"]["id"]))["groupBuy"]["id"]
    joined = await asyncio.gather(
        *(
            _place(client, staff, shop, {"activityId": activity, "groupId": group_id})
            for _ in range(8)
        )
    )
    codes = [[e["code"] for e in j["userErrors"]] for j in joined]
    assert codes.count([]) == 2  # the opener and two joiners make three
    assert all(c in ([], ["GROUP_FULL"]) for c in codes)
    group = (await _read(client, staff, opened["order"]["id"]))["groupBuy"]
    assert group["members"] == 3


async def test_a_cancelled_members_place_can_be_taken_again(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    staff = await tenant.token("cashier")
    shop = await open_shop(tenant)
    activity = await _group_activity(client, admin, shop, 2)
    opened = await _place(client, staff, shop, {"activityId": activity})
    group_id = (await _read(client, staff, opened["order"]["id"]))["groupBuy"]["id"]
    member = await _place(client, staff, shop, {"activityId": activity, "groupId": group_id})
    full = await _place(client, staff, shop, {"activityId": activity, "groupId": group_id})
    assert [e["code"] for e in full["userErrors"]] == ["GROUP_FULL"]
    assert (await fire(client, staff, member["order"]["id"], "CANCEL"))["userErrors"] == []
    again = await _place(client, staff, shop, {"activityId": activity, "groupId": group_id})
    assert again["userErrors"] == []


async def test_a_group_short_at_its_window_end_cancels_and_refunds_every_member(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    staff = await tenant.token("cashier")
    shop = await open_shop(tenant)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await order_api.save_settings(
            session,
            tenant.id,
            order_api.OrderSettings(delivery_fee=500, payment_timeout_seconds=3600),
        )
    activity = await _group_activity(client, admin, shop, 3)
    paid = await _place(client, staff, shop, {"activityId": activity})
    paid_id = paid["order"]["id"]
    group_id = (await _read(client, staff, paid_id))["groupBuy"]["id"]
    unpaid = await _place(client, staff, shop, {"activityId": activity, "groupId": group_id})
    unpaid_id = unpaid["order"]["id"]
    assert await _cash(tenant, paid_id, 900 + 500) == "TAKEN"
    assert await stock_of(client, staff, shop) == {"onHand": 99, "reserved": 1, "available": 98}

    later = datetime.now(UTC) + timedelta(minutes=31)
    assert await tenant.runtime.jobs.run_due(now=later) >= 1  # the group fails
    await tenant.runtime.jobs.run_due(now=later)  # its members' jobs
    refunded = await _read(client, staff, paid_id)
    assert refunded["groupBuy"]["status"] == "FAILED"
    assert refunded["status"] == "CLOSED"
    assert refunded["refunded"]["amount"] == 1400  # goods and delivery fee
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        back = await payment_api.refunds_of_order(session, tenant.id, uuid.UUID(paid_id))
    assert sum(r.amount.amount for r in back) == 1400
    assert (await _read(client, staff, unpaid_id))["status"] == "CANCELLED"
    # Both units are back: the paid one restocked, the held one released.
    assert await stock_of(client, staff, shop) == {"onHand": 100, "reserved": 0, "available": 100}
    # A payment arriving for the failed group now is refused and given back.
    assert await _cash(tenant, unpaid_id, 1400) != "TAKEN"
    late = await _place(client, staff, shop, {"activityId": activity, "groupId": group_id})
    assert [e["code"] for e in late["userErrors"]] == ["GROUP_CLOSED"]


async def test_group_buy_input_errors(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    admin = await tenant.token("tenant_admin")
    staff = await tenant.token("cashier")
    shop = await open_shop(tenant)
    activity = await _group_activity(client, admin, shop, 2)
    unknown = await _place(client, staff, shop, {"activityId": str(uuid.uuid4())})
    assert [e["code"] for e in unknown["userErrors"]] == ["GROUP_BUY_NOT_FOUND"]
    no_group = await _place(
        client, staff, shop, {"activityId": activity, "groupId": str(uuid.uuid4())}
    )
    assert [e["code"] for e in no_group["userErrors"]] == ["GROUP_NOT_FOUND"]
    other_goods = place_input(shop, [0, 1])
    other_goods["input"]["lines"] = other_goods["input"]["lines"][1:]
    other_goods["input"]["groupBuy"] = {"activityId": activity}
    body = await gql(client, staff, PLACE, other_goods)
    assert [e["code"] for e in body["data"]["placeOrder"]["userErrors"]] == [
        "GROUP_BUY_NOT_APPLICABLE"
    ]
    presale = place_input(shop, [1], order_type="PRESALE")
    presale["input"]["groupBuy"] = {"activityId": activity}
    body = await gql(client, staff, PLACE, presale)
    assert [e["code"] for e in body["data"]["placeOrder"]["userErrors"]] == [
        "GROUP_BUY_NOT_FOR_TYPE"
    ]


async def test_a_payment_after_the_window_is_refused_even_before_the_expiry_job_ran(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    admin = await tenant.token("tenant_admin")
    staff = await tenant.token("cashier")
    shop = await open_shop(tenant)
    activity = await _group_activity(client, admin, shop, 2)
    opened = await _place(client, staff, shop, {"activityId": activity})
    order_id = opened["order"]["id"]
    group_id = (await _read(client, staff, order_id))["groupBuy"]["id"]
    async with db.unit_of_work(tenant.id) as session:  # the window passes
        await session.execute(
            sa.text(
                "UPDATE \"order\".buy_group SET expires_at = now() - interval '1 minute' "
                "WHERE id = :id"
            ),
            {"id": uuid.UUID(group_id)},
        )
    assert await _cash(tenant, order_id, 900) == "TAKEN"  # money came, and went back
    after = await _read(client, staff, order_id)
    assert after["status"] == "PLACED"
    assert after["groupBuy"]["paid"] == 0
    async with db.unit_of_work(tenant.id) as session:
        back = await payment_api.refunds_of_order(session, tenant.id, uuid.UUID(order_id))
    assert [r.amount.amount for r in back] == [900]
