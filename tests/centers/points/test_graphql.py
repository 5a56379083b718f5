"""The points subgraph through the public API."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
import sqlalchemy as sa

from centers.member import api as member_api
from kernel.db import Database
from tests.conftest import TenantFixture, gql

ADJUST = """
mutation($input: AdjustPointsInput!) {
  adjustPoints(input: $input) { entry { id delta balanceAfter } userErrors { field code } }
}
"""
BALANCE = "query($id: ID!) { member(id: $id) { displayName points { balance } } }"


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
    member_id: str, delta: int, key: str | None = None, reason: str = "visit"
) -> dict[str, Any]:
    return {
        "input": {
            "idempotencyKey": key or secrets.token_hex(8),
            "memberId": member_id,
            "delta": delta,
            "reason": reason,
        }
    }


async def test_points_earned_show_on_the_member(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    member_id = await new_member(tenant)
    token = await tenant.token("store_manager")
    before = await gql(client, token, BALANCE, {"id": member_id})
    assert before["data"]["member"]["points"]["balance"] == 0
    body = await gql(client, token, ADJUST, adjust_input(member_id, 120))
    assert body["data"]["adjustPoints"]["entry"]["balanceAfter"] == 120
    after = await gql(client, token, BALANCE, {"id": member_id})
    assert after["data"]["member"] == {"displayName": "Han Meimei", "points": {"balance": 120}}
    ledger = await gql(
        client,
        token,
        "query($m: ID!) { pointsEntries(memberId: $m, first: 5) { edges { node { delta reason } } } }",
        {"m": member_id},
    )
    assert [e["node"] for e in ledger["data"]["pointsEntries"]["edges"]] == [
        {"delta": 120, "reason": "visit"}
    ]


async def test_points_user_errors(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    member_id = await new_member(tenant)
    token = await tenant.token("tenant_admin")
    unknown = "01a20000-0000-7000-8000-000000000000"
    cases = {
        "INSUFFICIENT_POINTS": adjust_input(member_id, -1),
        "INVALID_DELTA": adjust_input(member_id, 0),
        "INVALID_REASON": adjust_input(member_id, 5, reason=" "),
        "MEMBER_NOT_FOUND": adjust_input(unknown, 5),
        "INVALID_ID": adjust_input("nope", 5),
    }
    for code, variables in cases.items():
        body = await gql(client, token, ADJUST, variables)
        assert [e["code"] for e in body["data"]["adjustPoints"]["userErrors"]] == [code]


async def test_concurrent_redemptions_never_overdraw(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    member_id = await new_member(tenant)
    token = await tenant.token("store_manager")
    await gql(client, token, ADJUST, adjust_input(member_id, 100))
    results = await asyncio.gather(
        *(gql(client, token, ADJUST, adjust_input(member_id, -10)) for _ in range(30))
    )
    ok = [r for r in results if r["data"]["adjustPoints"]["entry"]]
    refused = [
        r["data"]["adjustPoints"]["userErrors"][0]["code"]
        for r in results
        if not r["data"]["adjustPoints"]["entry"]
    ]
    assert len(ok) == 10 and refused == ["INSUFFICIENT_POINTS"] * 20
    async with db.unit_of_work() as session:
        balance, ledger = (
            await session.execute(
                sa.text(
                    "SELECT a.balance, (SELECT sum(delta) FROM points.entry e WHERE e.tenant_id = a.tenant_id"
                    " AND e.member_id = a.member_id) FROM points.account a WHERE a.tenant_id = :t"
                ),
                {"t": tenant.id},
            )
        ).one()
    assert (balance, ledger) == (0, 0)


async def test_concurrent_replays_adjust_once(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    member_id = await new_member(tenant)
    token = await tenant.token("store_manager")
    variables = adjust_input(member_id, 50, key="receipt-9")
    results = await asyncio.gather(*(gql(client, token, ADJUST, variables) for _ in range(20)))
    assert len({r["data"]["adjustPoints"]["entry"]["id"] for r in results}) == 1
    after = await gql(client, token, BALANCE, {"id": member_id})
    assert after["data"]["member"]["points"]["balance"] == 50


async def test_cashier_cannot_adjust_and_other_tenant_sees_nothing(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    member_id = await new_member(tenant)
    await gql(client, await tenant.token("tenant_admin"), ADJUST, adjust_input(member_id, 40))
    denied = await gql(client, await tenant.token("cashier"), ADJUST, adjust_input(member_id, 5))
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other = await other_tenant.token("tenant_admin")
    body = await gql(client, other, ADJUST, adjust_input(member_id, 5))
    assert body["data"]["adjustPoints"]["userErrors"][0]["code"] == "MEMBER_NOT_FOUND"
    reps = [{"__typename": "Member", "id": member_id}]
    probe = await gql(
        client,
        other,
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Member { points { balance } } } }",
        {"r": reps},
        path="/subgraphs/points/graphql",
    )
    # The stub answers for any id, but only from the caller's own tenant: never the 40.
    assert probe["data"]["_entities"][0]["points"]["balance"] == 0
