"""A customer reads their own membership and points (by their app account), nobody
else's."""

from __future__ import annotations

import secrets
import uuid

import httpx

from centers.member import api as member_api
from centers.member import profile
from centers.points import api as points_api
from tests.centers.promotion.arrange import register
from tests.conftest import TenantFixture, gql

MINE = "{ myMembership { id level } myPoints { balance } }"


async def customer_of(tenant: TenantFixture, member: uuid.UUID | None) -> str:
    subject = f"app-{secrets.token_hex(4)}"
    if member is not None:
        async with tenant.runtime.db.unit_of_work(tenant.id) as session:
            await profile.link_identity(
                session,
                tenant.id,
                member_id=member,
                kind=member_api.IdentityKind.APP,
                external_id=subject,
            )
            await points_api.adjust_points(
                session,
                tenant.id,
                idempotency_key=f"g-{member}",
                member_id=member,
                delta=42,
                reason="welcome",
            )
    return await tenant.token("customer", sub=subject)


async def test_a_customer_reads_their_own_membership_and_points(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    member = await register(tenant)
    customer = await customer_of(tenant, member)
    body = await gql(client, customer, MINE)
    assert body["data"] == {
        "myMembership": {"id": str(member), "level": 1},
        "myPoints": {"balance": 42},
    }


async def test_a_customer_without_membership_reads_nothing(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    customer = await customer_of(tenant, None)
    body = await gql(client, customer, MINE)
    assert body["data"] == {"myMembership": None, "myPoints": None}


async def test_a_customer_cannot_read_another_member(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    customer = await customer_of(tenant, await register(tenant))
    other = await register(tenant)
    body = await gql(
        client, customer, "query($id: ID!) { member(id: $id) { id } }", {"id": str(other)}
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await gql(
        client,
        customer,
        "query($id: ID!) { pointsAccount(memberId: $id) { balance } }",
        {"id": str(other)},
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_customer_reads_the_points_on_their_own_membership(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    """``myMembership { points }`` answers what ``myPoints`` answers (decision 0111);
    another member referenced on the points subgraph stays out of reach (null)."""
    member = await register(tenant)
    customer = await customer_of(tenant, member)
    body = await gql(
        client, customer, "{ myMembership { id points { balance } } myPoints { balance } }"
    )
    assert "errors" not in body, body
    assert body["data"] == {
        "myMembership": {"id": str(member), "points": {"balance": 42}},
        "myPoints": {"balance": 42},
    }
    other = await register(tenant)
    query = (
        "query($r: [_Any!]!) { _entities(representations: $r) "
        "{ ... on Member { id points { balance } } } }"
    )
    refs = [{"__typename": "Member", "id": str(m)} for m in (member, other)]
    found = await gql(client, customer, query, {"r": refs}, path="/subgraphs/points/graphql")
    assert found["data"]["_entities"] == [
        {"id": str(member), "points": {"balance": 42}},
        None,
    ]
