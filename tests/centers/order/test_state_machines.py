"""Each order type's state machine through the public API: tables of legal paths,
illegal events, who may fire what, idempotent transitions, history and outbox."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import sqlalchemy as sa

from centers.order.machine import MACHINES, Actor
from centers.order.transitions import EFFECTS, GUARDS
from kernel.db import Database
from tests.builders import open_shop
from tests.centers.order.flows import fire, pay, place, read
from tests.conftest import TenantFixture

# (order type, steps): a step is an event fired by staff through transitionOrder, or
# "PAY" (the payment center's system event), and the status expected after it.
HAPPY_PATHS: dict[str, list[tuple[str, str]]] = {
    "STANDARD": [("PAY", "PAID"), ("SHIP", "SHIPPED"), ("RECEIVE", "RECEIVED")],
    "COD": [("SHIP", "SHIPPED"), ("PAY", "RECEIVED")],
    "PRESALE": [("PAY", "DEPOSIT_PAID"), ("PAY", "PAID"), ("SHIP", "SHIPPED")],
    "DINE_IN": [
        ("PAY", "PAID"),
        ("ACCEPT", "ACCEPTED"),
        ("START_PREPARING", "PREPARING"),
        ("MARK_READY", "READY"),
        ("SERVE", "SERVED"),
    ],
    "TAKEOUT": [
        ("PAY", "PAID"),
        ("ACCEPT", "ACCEPTED"),
        ("MARK_READY", "READY"),
        ("DISPATCH", "DELIVERING"),
        ("DELIVER", "DELIVERED"),
    ],
    "VIRTUAL": [("PAY", "ISSUED"), ("REDEEM", "COMPLETED")],
}


def test_every_state_has_a_view_and_every_name_is_implemented() -> None:
    for machine in MACHINES.values():
        assert set(machine.views) == machine.states
        for transition in machine.transitions:
            assert set(transition.guards) <= set(GUARDS), transition
            assert set(transition.effects) <= set(EFFECTS), transition
        # Every state is reachable from the initial one.
        reached, frontier = {machine.initial}, [machine.initial]
        while frontier:
            state = frontier.pop()
            for event in machine.events_from(state):
                found = machine.find(state, event)
                assert found is not None
                if found.target not in reached:
                    reached.add(found.target)
                    frontier.append(found.target)
        assert reached | {"PENDING_REVIEW"} >= machine.states


def test_payment_is_only_ever_a_system_event() -> None:
    for machine in MACHINES.values():
        for transition in machine.transitions:
            if transition.event in ("PAY", "TIMEOUT"):
                assert transition.by == frozenset({Actor.SYSTEM})


@pytest.mark.parametrize("order_type", sorted(HAPPY_PATHS))
async def test_happy_path_of_each_type(
    client: httpx.AsyncClient, tenant: TenantFixture, order_type: str
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("store_manager")
    order = await place(client, staff, shop, [2, 1], order_type=order_type)
    assert order["status"] == "PLACED"
    assert order["type"] == order_type
    expected = ["PLACED"]
    for event, status in HAPPY_PATHS[order_type]:
        if event == "PAY":
            current = await read(client, staff, order["id"])
            assert current is not None
            owed = current["total"]["amount"] - current["paid"]["amount"]
            due = current["deposit"]["amount"] if status == "DEPOSIT_PAID" else owed
            result = await pay(tenant, order["id"], due)
            assert result.order.status == status
        else:
            payload = await fire(client, staff, order["id"], event)
            assert payload["userErrors"] == [], payload
            assert payload["order"]["status"] == status
        expected.append(status)
    final = await read(client, staff, order["id"])
    assert final is not None
    assert [h["toStatus"] for h in final["history"]] == expected
    assert final["history"][0]["event"] == "PLACE"
    assert final["paid"]["amount"] <= final["total"]["amount"]


async def test_restaurant_ready_issues_a_pickup_code(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [1], order_type="TAKEOUT")
    await pay(tenant, order["id"], order["total"]["amount"])
    await fire(client, staff, order["id"], "ACCEPT")
    assert (await read(client, staff, order["id"]) or {})["pickupCode"] is None
    ready = await fire(client, staff, order["id"], "MARK_READY")
    code = ready["order"]["pickupCode"]
    assert code is not None and len(code) == 6 and code.isdigit()
    assert ready["order"]["statusViews"] == {
        "buyer": "READY_FOR_PICKUP",
        "merchant": "READY",
        "erp": "SHIPPED",
    }


async def test_status_views_per_audience(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    standard = await place(client, staff, shop, [1])
    assert standard["statusViews"] == {"buyer": "TO_PAY", "merchant": "UNPAID", "erp": "CREATED"}
    paid = await pay(tenant, standard["id"], standard["total"]["amount"])
    assert paid.order.status == "PAID"
    after = await read(client, staff, standard["id"])
    assert after is not None
    assert after["statusViews"] == {"buyer": "TO_SHIP", "merchant": "TO_SHIP", "erp": "LOCKED"}
    cod = await place(client, staff, shop, [1], order_type="COD")
    assert cod["statusViews"]["buyer"] == "TO_SHIP"


async def test_an_illegal_event_is_invalid_transition(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [1])
    shipped_unpaid = await fire(client, staff, order["id"], "SHIP")
    assert shipped_unpaid["order"] is None
    assert [e["code"] for e in shipped_unpaid["userErrors"]] == ["INVALID_TRANSITION"]
    not_of_this_type = await fire(client, staff, order["id"], "SERVE")
    assert [e["code"] for e in not_of_this_type["userErrors"]] == ["INVALID_TRANSITION"]
    still = await read(client, staff, order["id"])
    assert still is not None and still["status"] == "PLACED"
    assert len(still["history"]) == 1


async def test_a_buyer_cannot_fire_store_events(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    buyer = await tenant.token("customer")
    order = await place(client, buyer, shop, [1], order_type="DINE_IN")
    await pay(tenant, order["id"], order["total"]["amount"])
    refused = await fire(client, buyer, order["id"], "ACCEPT")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    staff = await tenant.token("cashier")
    still = await read(client, staff, order["id"])
    assert still is not None and still["status"] == "PAID"
    assert still["availableEvents"] == ["ACCEPT"]
    mine = await read(client, buyer, order["id"])
    assert mine is not None and mine["availableEvents"] == []


async def test_a_buyer_reaches_only_their_own_orders(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    alice = await tenant.token("customer")
    bob = await tenant.token("customer")
    order = await place(client, alice, shop, [1])
    stolen = await fire(client, bob, order["id"], "CANCEL")
    assert [e["code"] for e in stolen["userErrors"]] == ["ORDER_NOT_FOUND"]
    own = await fire(client, alice, order["id"], "CANCEL", reason="changed my mind")
    assert own["order"]["status"] == "CANCELLED"
    assert own["order"]["cancelReason"] == "changed my mind"


async def test_a_replayed_transition_applies_once(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [1], order_type="DINE_IN")
    await pay(tenant, order["id"], order["total"]["amount"])
    first = await fire(client, staff, order["id"], "ACCEPT", key="pos-accept-1")
    again = await fire(client, staff, order["id"], "ACCEPT", key="pos-accept-1")
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["userErrors"] == [] and again["order"]["status"] == "ACCEPTED"
    reused = await fire(client, staff, order["id"], "START_PREPARING", key="pos-accept-1")
    assert [e["code"] for e in reused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    final = await read(client, staff, order["id"])
    assert final is not None
    assert [h["event"] for h in final["history"]] == ["PLACE", "PAY", "ACCEPT"]


async def test_each_transition_writes_history_and_an_outbox_event(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [1])
    await fire(client, staff, order["id"], "CANCEL", reason="out of table")
    async with db.unit_of_work(tenant.id) as session:
        topics = (
            await session.scalars(
                sa.text(
                    "SELECT topic FROM kernel.outbox_event WHERE aggregate_id = :id ORDER BY id"
                ),
                {"id": order["id"]},
            )
        ).all()
    # Ids are time-ordered to the millisecond only: compare as a set of topics.
    assert sorted(topics) == ["order.cancelled", "order.placed", "order.status_changed"]
    final = await read(client, staff, order["id"])
    assert final is not None
    entry = final["history"][-1]
    assert entry["event"] == "CANCEL"
    assert (entry["fromStatus"], entry["toStatus"]) == ("PLACED", "CANCELLED")
    assert entry["reason"] == "out of table"
    assert entry["actor"].startswith("user:cashier-")


async def test_two_staff_accepting_at_once_exactly_one_wins(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    first, second = await tenant.token("cashier"), await tenant.token("store_manager")
    order = await place(client, first, shop, [1], order_type="DINE_IN")
    await pay(tenant, order["id"], order["total"]["amount"])
    results = await asyncio.gather(
        *(fire(client, token, order["id"], "ACCEPT") for token in (first, second) * 3)
    )
    winners = [r for r in results if r["userErrors"] == []]
    losers = [r for r in results if r["userErrors"]]
    assert len(winners) == 1
    assert {e["code"] for r in losers for e in r["userErrors"]} == {"INVALID_TRANSITION"}
    final = await read(client, first, order["id"])
    assert final is not None
    assert [h["event"] for h in final["history"]].count("ACCEPT") == 1


async def test_unknown_event_name_is_rejected_by_the_schema(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [1])
    refused = await fire(client, staff, order["id"], "TELEPORT")
    assert refused["errors"][0]["extensions"]["code"] in (
        "BAD_USER_INPUT",
        "GRAPHQL_VALIDATION_FAILED",
        "BAD_REQUEST",
    )
