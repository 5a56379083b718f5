"""The points subgraph through the public API."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from centers.member import api as member_api
from kernel.db import Database
from tests.conftest import TenantFixture, gql
from tests.sql_statements import selects_from

ADJUST = """
mutation($input: AdjustPointsInput!) {
  adjustPoints(input: $input) {
    entry { id delta balanceAfter reason }
    userErrors { field code }
  }
}
"""
ACCOUNT = """
query($m: ID!, $first: Int! = 20, $after: String) {
  pointsAccount(memberId: $m) {
    balance
    entries(first: $first, after: $after) {
      edges { node { delta balanceAfter reason } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
MEMBER_POINTS = "query($id: ID!) { member(id: $id) { displayName points { balance } } }"
SUBGRAPH = "/subgraphs/points/graphql"
UNKNOWN_ID = "01a20000-0000-7000-8000-000000000000"


async def new_member(tenant: TenantFixture) -> str:
    async with tenant.runtime.db.unit_of_work() as session:
        member = await member_api.register_member(
            session,
            tenant.id,
            phone=f"+86138{secrets.randbelow(10**8):08d}",
            display_name="Han Meimei",
        )
    return str(member.id)


def adjust_input(
    member_id: str, delta: int, *, key: str | None = None, reason: str = "visit"
) -> dict[str, Any]:
    return {
        "input": {
            "idempotencyKey": secrets.token_hex(8) if key is None else key,
            "memberId": member_id,
            "delta": delta,
            "reason": reason,
        }
    }


async def adjust(
    client: httpx.AsyncClient, token: str, variables: dict[str, Any]
) -> dict[str, Any]:
    payload: dict[str, Any] = (await gql(client, token, ADJUST, variables))["data"]["adjustPoints"]
    return payload


async def ledger(db: Database, tenant: TenantFixture) -> tuple[int | None, int, int | None]:
    """(balance, number of entries, sum of deltas) of the tenant's only account."""
    async with db.unit_of_work() as session:
        balance = await session.scalar(
            sa.text("SELECT balance FROM points.account WHERE tenant_id = :t"), {"t": tenant.id}
        )
        count, total = (
            await session.execute(
                sa.text("SELECT count(*), sum(delta) FROM points.entry WHERE tenant_id = :t"),
                {"t": tenant.id},
            )
        ).one()
    return balance, count, total


async def test_store_manager_earns_points(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    member_id = await new_member(tenant)
    payload = await adjust(
        client, await tenant.token("store_manager"), adjust_input(member_id, 120)
    )
    assert payload["userErrors"] == []
    assert payload["entry"]["delta"] == 120 and payload["entry"]["balanceAfter"] == 120
    assert await ledger(db, tenant) == (120, 1, 120)


async def test_points_account_shows_the_balance_and_entries_newest_first(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    member_id = await new_member(tenant)
    token = await tenant.token("tenant_admin")
    await adjust(client, token, adjust_input(member_id, 100, reason="signup"))
    await adjust(client, token, adjust_input(member_id, -30, reason="coffee"))
    body = await gql(client, await tenant.token("cashier"), ACCOUNT, {"m": member_id})
    account = body["data"]["pointsAccount"]
    assert account["balance"] == 70
    assert [e["node"] for e in account["entries"]["edges"]] == [
        {"delta": -30, "balanceAfter": 70, "reason": "coffee"},
        {"delta": 100, "balanceAfter": 100, "reason": "signup"},
    ]


async def test_points_account_entries_come_in_pages(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    member_id = await new_member(tenant)
    token = await tenant.token("tenant_admin")
    for delta in (1, 2, 3):
        await adjust(client, token, adjust_input(member_id, delta))
    first = (await gql(client, token, ACCOUNT, {"m": member_id, "first": 2}))["data"]
    entries = first["pointsAccount"]["entries"]
    assert [e["node"]["delta"] for e in entries["edges"]] == [3, 2]
    assert entries["pageInfo"]["hasNextPage"] is True
    after = entries["pageInfo"]["endCursor"]
    rest = (await gql(client, token, ACCOUNT, {"m": member_id, "first": 2, "after": after}))[
        "data"
    ]["pointsAccount"]["entries"]
    assert [e["node"]["delta"] for e in rest["edges"]] == [1]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_a_member_without_points_has_a_zero_balance_and_no_entries(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    member_id = await new_member(tenant)
    body = await gql(client, await tenant.token("cashier"), ACCOUNT, {"m": member_id})
    assert body["data"]["pointsAccount"] == {
        "balance": 0,
        "entries": {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}},
    }


async def test_points_show_on_the_member_center_member(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    member_id = await new_member(tenant)
    token = await tenant.token("store_manager")
    await adjust(client, token, adjust_input(member_id, 40))
    body = await gql(client, token, MEMBER_POINTS, {"id": member_id})
    assert body["data"]["member"] == {"displayName": "Han Meimei", "points": {"balance": 40}}


async def test_points_of_many_members_load_in_one_query_each(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("tenant_admin")
    for _ in range(3):
        member_id = await new_member(tenant)
        await adjust(client, token, adjust_input(member_id, 10))
        await adjust(client, token, adjust_input(member_id, 5))
    query = "{ members(first: 10) { edges { node { points { balance entries(first: 1) { edges { node { delta } } } } } } } }"
    with (
        selects_from(db, "points.account") as accounts,
        selects_from(db, "points.entry") as entries,
    ):
        body = await gql(client, token, query)
    nodes = [e["node"]["points"] for e in body["data"]["members"]["edges"]]
    assert nodes == [{"balance": 15, "entries": {"edges": [{"node": {"delta": 5}}]}}] * 3
    assert len(accounts) == 1 and len(entries) == 1


async def test_a_replay_returns_the_first_entry_and_its_balance(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    member_id = await new_member(tenant)
    token = await tenant.token("store_manager")
    first = await adjust(client, token, adjust_input(member_id, 50, key="receipt-9"))
    await adjust(client, token, adjust_input(member_id, 7))
    replay = await adjust(client, token, adjust_input(member_id, 50, key="receipt-9"))
    assert replay == first and replay["entry"]["balanceAfter"] == 50
    assert await ledger(db, tenant) == (57, 2, 57)


async def test_concurrent_replays_of_one_key_write_one_entry(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    member_id = await new_member(tenant)
    token = await tenant.token("store_manager")
    variables = adjust_input(member_id, 50, key="receipt-10")
    results = await asyncio.gather(*(adjust(client, token, variables) for _ in range(20)))
    assert all(r["userErrors"] == [] for r in results)
    assert len({(r["entry"]["id"], r["entry"]["balanceAfter"]) for r in results}) == 1
    assert await ledger(db, tenant) == (50, 1, 50)


async def test_concurrent_redemptions_never_overdraw(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    member_id = await new_member(tenant)
    token = await tenant.token("store_manager")
    await adjust(client, token, adjust_input(member_id, 100))
    results = await asyncio.gather(
        *(adjust(client, token, adjust_input(member_id, -10)) for _ in range(30))
    )
    succeeded = [r for r in results if r["entry"]]
    refused = [e["code"] for r in results for e in r["userErrors"]]
    assert len(succeeded) == 10 and refused == ["INSUFFICIENT_POINTS"] * 20
    assert sorted(r["entry"]["balanceAfter"] for r in succeeded) == list(range(0, 100, 10))
    assert await ledger(db, tenant) == (0, 11, 0)


async def test_spending_more_than_the_balance_is_insufficient_points_and_writes_nothing(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    member_id = await new_member(tenant)
    token = await tenant.token("store_manager")
    await adjust(client, token, adjust_input(member_id, 20))
    payload = await adjust(client, token, adjust_input(member_id, -21))
    assert payload == {
        "entry": None,
        "userErrors": [{"field": ["input", "delta"], "code": "INSUFFICIENT_POINTS"}],
    }
    assert await ledger(db, tenant) == (20, 1, 20)


async def test_a_balance_past_the_int_range_is_balance_limit(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    member_id = await new_member(tenant)
    async with db.unit_of_work() as session:
        await session.execute(
            sa.text(
                "INSERT INTO points.account (tenant_id, member_id, balance, updated_at)"
                " VALUES (:t, :m, 2147483000, now())"
            ),
            {"t": tenant.id, "m": member_id},
        )
    payload = await adjust(
        client, await tenant.token("tenant_admin"), adjust_input(member_id, 1000)
    )
    assert [e["code"] for e in payload["userErrors"]] == ["BALANCE_LIMIT"]


@pytest.mark.parametrize(
    ("code", "field", "change"),
    [
        ("INVALID_DELTA", "delta", {"delta": 0}),
        ("INVALID_DELTA", "delta", {"delta": 10_000_001}),
        ("INVALID_REASON", "reason", {"reason": "   "}),
        ("INVALID_REASON", "reason", {"reason": "x" * 201}),
        ("MEMBER_NOT_FOUND", "memberId", {"memberId": UNKNOWN_ID}),
        ("INVALID_ID", "memberId", {"memberId": "nope"}),
        ("INVALID_IDEMPOTENCY_KEY", "idempotencyKey", {"idempotencyKey": ""}),
    ],
    ids=[
        "zero-delta",
        "huge-delta",
        "blank-reason",
        "long-reason",
        "unknown-member",
        "bad-id",
        "empty-key",
    ],
)
async def test_invalid_input_is_a_user_error_and_writes_nothing(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    db: Database,
    code: str,
    field: str,
    change: dict[str, Any],
) -> None:
    variables = adjust_input(await new_member(tenant), 5)
    variables["input"].update(change)
    payload = await adjust(client, await tenant.token("tenant_admin"), variables)
    assert payload == {"entry": None, "userErrors": [{"field": ["input", field], "code": code}]}
    assert await ledger(db, tenant) == (None, 0, None)


async def test_a_key_reused_for_another_adjustment_is_idempotency_key_reused(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    member_id = await new_member(tenant)
    token = await tenant.token("tenant_admin")
    await adjust(client, token, adjust_input(member_id, 5, key="receipt-11"))
    payload = await adjust(client, token, adjust_input(member_id, 6, key="receipt-11"))
    assert [e["code"] for e in payload["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert await ledger(db, tenant) == (5, 1, 5)


async def test_adjustment_writes_a_points_adjusted_event(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    member_id = await new_member(tenant)
    payload = await adjust(client, await tenant.token("tenant_admin"), adjust_input(member_id, 9))
    async with db.unit_of_work() as session:
        rows = (
            await session.execute(
                sa.text(
                    "SELECT topic, aggregate_id, payload FROM kernel.outbox_event"
                    " WHERE tenant_id = :t AND topic LIKE 'points.%'"
                ),
                {"t": tenant.id},
            )
        ).all()
    assert [(r.topic, str(r.aggregate_id)) for r in rows] == [("points.adjusted", member_id)]
    assert rows[0].payload["entry_id"] == payload["entry"]["id"]
    assert rows[0].payload["balance_after"] == 9


async def test_cashier_cannot_adjust_points(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    member_id = await new_member(tenant)
    body = await gql(client, await tenant.token("cashier"), ADJUST, adjust_input(member_id, 5))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await ledger(db, tenant) == (None, 0, None)


async def test_customer_cannot_read_points(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    member_id = await new_member(tenant)
    body = await gql(client, await tenant.token("customer"), ACCOUNT, {"m": member_id})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_other_tenant_gets_null_for_a_points_account(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    member_id = await new_member(tenant)
    await adjust(client, await tenant.token("tenant_admin"), adjust_input(member_id, 40))
    body = await gql(client, await other_tenant.token("tenant_admin"), ACCOUNT, {"m": member_id})
    assert body["data"]["pointsAccount"] is None


async def test_other_tenant_cannot_adjust_a_member(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture, db: Database
) -> None:
    member_id = await new_member(tenant)
    token = await other_tenant.token("tenant_admin")
    payload = await adjust(client, token, adjust_input(member_id, 5))
    assert [e["code"] for e in payload["userErrors"]] == ["MEMBER_NOT_FOUND"]
    assert await ledger(db, tenant) == (None, 0, None)


async def test_member_reference_resolves_in_its_tenant_only(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    member_id = await new_member(tenant)
    await adjust(client, await tenant.token("tenant_admin"), adjust_input(member_id, 40))
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Member { points { balance entries { edges { cursor } } } } } }"
    reps = {"r": [{"__typename": "Member", "id": member_id}]}
    mine = await gql(client, await tenant.token("cashier"), query, reps, path=SUBGRAPH)
    theirs = await gql(client, await other_tenant.token("tenant_admin"), query, reps, path=SUBGRAPH)
    assert mine["data"]["_entities"][0]["points"]["balance"] == 40
    # Another tenant's member is not theirs: null, as for an id that matches nothing.
    assert theirs["data"]["_entities"] == [None]


async def test_points_entry_is_an_entity_of_its_tenant_only(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    member_id = await new_member(tenant)
    token = await tenant.token("store_manager")
    entry_id = (await adjust(client, token, adjust_input(member_id, 30)))["entry"]["id"]
    query = (
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on PointsEntry { id delta } } }"
    )
    reps = {"r": [{"__typename": "PointsEntry", "id": entry_id}]}
    mine = await gql(client, token, query, reps, path=SUBGRAPH)
    theirs = await gql(client, await other_tenant.token("tenant_admin"), query, reps, path=SUBGRAPH)
    assert mine["data"]["_entities"] == [{"id": entry_id, "delta": 30}]
    assert theirs["data"]["_entities"] == [None]
