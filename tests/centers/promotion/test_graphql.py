"""The promotion subgraph through the public API and its subgraph endpoint."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from kernel.db import Database
from tests.conftest import TenantFixture, gql
from tests.sql_statements import count_rows

CREATE = """
mutation($input: CreatePromotionActivityInput!) {
  createPromotionActivity(input: $input) {
    promotionActivity { id name kind status startsAt endsAt }
    userErrors { field message code }
  }
}
"""
ONE = "query($id: ID!) { promotionActivity(id: $id) { id name kind status } }"
LIST = """
query($first: Int!, $after: String) {
  promotionActivities(first: $first, after: $after) {
    edges { node { name } cursor }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""
ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on PromotionActivity { id name } }
}
"""
SUBGRAPH = "/subgraphs/promotion/graphql"


def activity_input(**overrides: Any) -> dict[str, Any]:
    values = {
        "name": "满100减20",
        "kind": "SPEND_AND_SAVE",
        "startsAt": "2030-05-01T00:00:00+08:00",
        "endsAt": "2030-05-08T00:00:00+08:00",
    }
    return {"input": {**values, **overrides}}


async def create(client: httpx.AsyncClient, token: str, **overrides: Any) -> dict[str, Any]:
    body = await gql(client, token, CREATE, activity_input(**overrides))
    payload: dict[str, Any] = body["data"]["createPromotionActivity"]
    return payload


async def activity_count(db: Database, tenant: TenantFixture) -> int:
    return await count_rows(db, "promotion.activity", tenant.id)


async def test_admin_creates_a_draft_activity_in_utc(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    payload = await create(client, token)
    assert payload["userErrors"] == []
    activity = payload["promotionActivity"]
    assert activity["name"] == "满100减20"
    assert activity["kind"] == "SPEND_AND_SAVE"
    assert activity["status"] == "DRAFT"
    assert activity["startsAt"] == "2030-04-30T16:00:00+00:00"
    assert activity["endsAt"] == "2030-05-07T16:00:00+00:00"


async def test_creating_an_activity_writes_an_outbox_event(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("tenant_admin")
    activity_id = (await create(client, token, kind="FLASH_SALE"))["promotionActivity"]["id"]
    async with db.unit_of_work() as session:
        events = (
            await session.execute(
                sa.text(
                    "SELECT topic, payload FROM kernel.outbox_event"
                    " WHERE tenant_id = :t AND aggregate_id = :a"
                ),
                {"t": tenant.id, "a": activity_id},
            )
        ).all()
    assert [e.topic for e in events] == ["promotion.activity_created"]
    assert events[0].payload["kind"] == "FLASH_SALE"


async def test_customer_reads_an_activity_by_id(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    activity_id = (await create(client, admin, kind="GROUP_BUY"))["promotionActivity"]["id"]
    customer = await tenant.token("customer")
    body = await gql(client, customer, ONE, {"id": activity_id})
    assert body["data"]["promotionActivity"] == {
        "id": activity_id,
        "name": "满100减20",
        "kind": "GROUP_BUY",
        "status": "DRAFT",
    }


async def test_unknown_or_malformed_activity_id_reads_null(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("cashier")
    unknown = await gql(client, token, ONE, {"id": "0190a000-0000-7000-8000-000000000000"})
    malformed = await gql(client, token, ONE, {"id": "not-an-id"})
    assert unknown["data"]["promotionActivity"] is None
    assert malformed["data"]["promotionActivity"] is None


async def test_activities_are_listed_newest_first_in_pages(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    for name in ("first", "second", "third"):
        await create(client, token, name=name)
    store_manager = await tenant.token("store_manager")
    page = (await gql(client, store_manager, LIST, {"first": 2}))["data"]["promotionActivities"]
    assert [e["node"]["name"] for e in page["edges"]] == ["third", "second"]
    assert page["pageInfo"]["hasNextPage"] is True
    after = page["pageInfo"]["endCursor"]
    rest = (await gql(client, store_manager, LIST, {"first": 2, "after": after}))["data"]
    assert [e["node"]["name"] for e in rest["promotionActivities"]["edges"]] == ["first"]
    assert rest["promotionActivities"]["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": rest["promotionActivities"]["edges"][0]["cursor"],
    }


async def test_blank_name_is_invalid_name(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("tenant_admin")
    payload = await create(client, token, name="   ")
    assert payload == {
        "promotionActivity": None,
        "userErrors": [
            {
                "field": ["input", "name"],
                "message": "name must be 1 to 200 characters",
                "code": "INVALID_NAME",
            }
        ],
    }
    assert await activity_count(db, tenant) == 0


async def test_window_ending_before_it_starts_is_invalid_window(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("tenant_admin")
    payload = await create(
        client, token, startsAt="2030-05-08T00:00:00Z", endsAt="2030-05-01T00:00:00Z"
    )
    assert payload["promotionActivity"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "endsAt"],
            "message": "endsAt must be after startsAt",
            "code": "INVALID_WINDOW",
        }
    ]
    assert await activity_count(db, tenant) == 0


async def test_window_without_time_zone_offset_is_invalid_window(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    payload = await create(client, token, startsAt="2030-05-01T00:00:00")
    assert payload["promotionActivity"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_WINDOW", ["input", "startsAt"])
    ]


async def test_store_manager_cannot_create_activities(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("store_manager")
    denied = await gql(client, token, CREATE, activity_input())
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await activity_count(db, tenant) == 0


async def test_caller_without_a_role_cannot_list_activities(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token(None)
    denied = await gql(client, token, LIST, {"first": 10})
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert denied["data"] is None


async def test_other_tenant_cannot_read_activities(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    activity_id = (await create(client, admin))["promotionActivity"]["id"]
    intruder = await other_tenant.token("tenant_admin")
    by_id = await gql(client, intruder, ONE, {"id": activity_id})
    listed = await gql(client, intruder, LIST, {"first": 10})
    assert by_id["data"]["promotionActivity"] is None
    assert listed["data"]["promotionActivities"]["edges"] == []


async def test_subgraph_resolves_activity_references(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    activity_id = (await create(client, admin, name="秒杀"))["promotionActivity"]["id"]
    representations = [{"__typename": "PromotionActivity", "id": activity_id}]
    body = await gql(client, admin, ENTITIES, {"representations": representations}, path=SUBGRAPH)
    assert body["data"]["_entities"] == [{"id": activity_id, "name": "秒杀"}]


async def test_other_tenant_gets_null_for_an_activity_reference(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    activity_id = (await create(client, admin))["promotionActivity"]["id"]
    intruder = await other_tenant.token("tenant_admin")
    representations = [{"__typename": "PromotionActivity", "id": activity_id}]
    body = await gql(
        client, intruder, ENTITIES, {"representations": representations}, path=SUBGRAPH
    )
    assert body["data"]["_entities"] == [None]
