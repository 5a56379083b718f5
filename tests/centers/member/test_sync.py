"""Members updated from another system (``member.api.sync_member``): idempotent and
ordered by source version; and ``member.level_changed`` when growth moves a level."""

from __future__ import annotations

import asyncio
import random
import secrets
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from centers.member import api as member_api
from kernel.db import Database
from kernel.errors import UserInputError
from tests.centers.promotion.arrange import SET_LEVEL, register
from tests.conftest import TenantFixture, gql


def phone() -> str:
    return "+86137" + "".join(secrets.choice("0123456789") for _ in range(8))


async def sync(
    tenant: TenantFixture, number: str, name: str, version: int, source: str = "crm-rest"
) -> member_api.MemberSyncResult:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        return await member_api.sync_member(
            session,
            tenant.id,
            source=source,
            phone=number,
            display_name=name,
            source_version=version,
        )


async def member_events(db: Database, tenant_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    async with db.unit_of_work() as session:
        rows = (
            await session.execute(
                sa.text(
                    "SELECT topic, payload FROM kernel.outbox_event"
                    " WHERE tenant_id = :t AND topic LIKE 'member.%' ORDER BY id"
                ),
                {"t": tenant_id},
            )
        ).all()
    return [(r.topic, dict(r.payload)) for r in rows]


async def test_an_unknown_phone_is_registered_once(tenant: TenantFixture, db: Database) -> None:
    number = phone()
    first = await sync(tenant, number, "Zhao", 1)
    again = await sync(tenant, number, "Zhao", 1)
    assert (first.created, first.applied) == (True, True)
    assert (again.created, again.applied) == (False, False)
    assert again.member.id == first.member.id
    events = await member_events(db, tenant.id)
    assert [(topic, p["phone"]) for topic, p in events] == [("member.registered", number)]


async def test_a_newer_version_updates_the_name(tenant: TenantFixture) -> None:
    number = phone()
    await sync(tenant, number, "Zhao", 1)
    updated = await sync(tenant, number, "Zhao Lei", 2)
    assert updated.applied and updated.member.display_name == "Zhao Lei"
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        found = await member_api.member_by_phone(session, tenant.id, number)
    assert found is not None and found.display_name == "Zhao Lei"


async def test_an_older_version_never_overwrites_a_newer_one(tenant: TenantFixture) -> None:
    number = phone()
    await sync(tenant, number, "Newest", 5)
    late = await sync(tenant, number, "Older", 3)
    replay = await sync(tenant, number, "Same version", 5)
    assert not late.applied and not replay.applied
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        found = await member_api.member_by_phone(session, tenant.id, number)
    assert found is not None and found.display_name == "Newest"


async def test_a_member_registered_here_is_updated_from_the_source(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    member_id = await register(tenant)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        member = await member_api.get_member(session, tenant.id, member_id)
    assert member is not None
    result = await sync(tenant, member.phone, "Renamed at the CRM", 1)
    assert (result.created, result.applied) == (False, True)
    assert result.member.id == member_id


async def test_versions_are_kept_per_source(tenant: TenantFixture) -> None:
    number = phone()
    await sync(tenant, number, "From CRM", 10, source="crm-rest")
    other = await sync(tenant, number, "From the app backend", 1, source="app")
    assert other.applied and other.member.display_name == "From the app backend"


async def test_concurrent_out_of_order_messages_leave_the_newest(tenant: TenantFixture) -> None:
    number = phone()
    versions = list(range(1, 9))
    random.shuffle(versions)
    results = await asyncio.gather(
        *(sync(tenant, number, f"name v{v}", v) for v in versions), return_exceptions=True
    )
    # The first sight of a phone races its registration; the losers become updates.
    assert all(isinstance(r, member_api.MemberSyncResult) for r in results), results
    done = [r for r in results if isinstance(r, member_api.MemberSyncResult)]
    assert len({r.member.id for r in done}) == 1
    assert sum(1 for r in done if r.created) == 1
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        found = await member_api.member_by_phone(session, tenant.id, number)
    assert found is not None and found.display_name == "name v8"


async def test_the_same_phone_in_two_tenants_is_two_members(
    tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    number = phone()
    mine = await sync(tenant, number, "Mine", 1)
    theirs = await sync(other_tenant, number, "Theirs", 1)
    assert mine.created and theirs.created and mine.member.id != theirs.member.id


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"source": "bad source!"}, "INVALID_SOURCE"),
        ({"source_version": -1}, "INVALID_SOURCE_VERSION"),
        ({"phone": "12345"}, "INVALID_PHONE"),
        ({"display_name": "   "}, "INVALID_NAME"),
    ],
)
async def test_bad_input_is_refused_with_a_code(
    tenant: TenantFixture, kwargs: dict[str, Any], code: str
) -> None:
    values: dict[str, Any] = {
        "source": "crm-rest",
        "phone": phone(),
        "display_name": "Zhao",
        "source_version": 1,
        **kwargs,
    }
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        with pytest.raises(UserInputError) as raised:
            await member_api.sync_member(session, tenant.id, **values)
    assert raised.value.code == code


async def test_growth_that_moves_a_level_writes_a_level_changed_event(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    admin = await tenant.token("tenant_admin")
    for level, name, threshold in ((1, "Silver", 0), (2, "Gold", 100)):
        body = await gql(
            client,
            admin,
            SET_LEVEL,
            {"input": {"level": level, "name": name, "growthThreshold": threshold}},
        )
        assert body["data"]["setMemberLevel"]["userErrors"] == []
    member = await register(tenant)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        # 50 growth: still level 1, no event; 60 more: level 2.
        for amount in (5_000, 6_000):
            await member_api.add_growth_for_order(
                session, tenant.id, member_id=member, order_id=uuid.uuid4(), amount_paid=amount
            )
    changed = [
        p for topic, p in await member_events(db, tenant.id) if topic == "member.level_changed"
    ]
    assert changed == [{"member_id": str(member), "from_level": 1, "to_level": 2, "growth": 110}]


async def test_a_redefined_level_writes_a_level_changed_event_per_member_it_moves(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    admin = await tenant.token("tenant_admin")
    for level, name, threshold in ((1, "Silver", 0), (2, "Gold", 100)):
        await gql(
            client,
            admin,
            SET_LEVEL,
            {"input": {"level": level, "name": name, "growthThreshold": threshold}},
        )
    moved, stays = await register(tenant), await register(tenant)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        for member, amount in ((moved, 20_000), (stays, 90_000)):
            await member_api.add_growth_for_order(
                session, tenant.id, member_id=member, order_id=uuid.uuid4(), amount_paid=amount
            )
    # Gold now needs 500: the member with 200 drops to 1, the one with 900 stays at 2.
    body = await gql(
        client, admin, SET_LEVEL, {"input": {"level": 2, "name": "Gold", "growthThreshold": 500}}
    )
    assert body["data"]["setMemberLevel"]["userErrors"] == []
    changed = [
        p for topic, p in await member_events(db, tenant.id) if topic == "member.level_changed"
    ]
    assert changed[-1] == {"member_id": str(moved), "from_level": 2, "to_level": 1, "growth": 200}
    assert [p["member_id"] for p in changed].count(str(stays)) == 1  # only its move up
