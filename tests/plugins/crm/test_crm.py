"""crm-rest end to end: members, levels and points balances out; members created or
changed in the CRM in (pulled and pushed), duplicates and out-of-order messages included."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa

from centers.member import api as member_api
from centers.points import api as points_api
from kernel.app import Runtime
from kernel.dispatch import Dispatcher
from kernel.plugins.registry import PluginRegistry
from plugins import signing
from plugins.crm.emulator import CrmState, crm_emulator, signed_push
from plugins.crm.plugin import MANIFEST
from plugins.emulation import LoopbackServer
from tests.centers.promotion.arrange import SET_LEVEL
from tests.conftest import TenantFixture, gql
from tests.kernel.dispatch.support import later, plugin_settings

CONFIGURE = """
mutation($settings: JSON!) {
  configurePlugin(input: {plugin: "crm-rest", settings: $settings}) { userErrors { code } }
  enablePlugin(input: {plugin: "crm-rest"}) { installation { enabled } userErrors { code } }
}
"""


@pytest.fixture
async def crm(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> AsyncIterator[tuple[LoopbackServer, CrmState]]:
    server, state = crm_emulator()
    async with server:
        token = await tenant.token("tenant_admin")
        body = await gql(
            client,
            token,
            CONFIGURE,
            {
                "settings": {
                    "base_url": server.url,
                    "api_key": "crm-key",
                    "callback_secret": SECRET,
                }
            },
        )
        assert body["data"]["enablePlugin"]["installation"]["enabled"] is True
        yield server, state


SECRET = "crm-secret"


def phone() -> str:
    return "+86139" + "".join(secrets.choice("0123456789") for _ in range(8))


def dispatcher(runtime: Runtime) -> Dispatcher:
    return Dispatcher(runtime.db, registry=PluginRegistry([MANIFEST]), settings=plugin_settings())


async def test_member_and_its_points_balance_reach_the_crm(
    runtime: Runtime, tenant: TenantFixture, crm: tuple[LoopbackServer, CrmState]
) -> None:
    _, state = crm
    async with runtime.db.unit_of_work(tenant.id) as session:
        member = await member_api.register_member(
            session, tenant.id, phone=phone(), display_name="Wang"
        )
        for index, delta in enumerate((100, -30, 50)):
            await points_api.adjust_points(
                session,
                tenant.id,
                idempotency_key=f"p-{index}",
                member_id=member.id,
                delta=delta,
                reason="test",
            )
    subject = dispatcher(runtime)
    await subject.run_once(tenant_id=tenant.id)
    await subject.aclose()
    assert state.members[str(member.id)]["name"] == "Wang"
    assert state.balances[str(member.id)] == 120
    assert state.levels[str(member.id)] == member.level


async def names_of(runtime: Runtime, tenant: TenantFixture, phones: list[str]) -> list[str | None]:
    async with runtime.db.unit_of_work(tenant.id) as session:
        found = [await member_api.member_by_phone(session, tenant.id, p) for p in phones]
    return [m.display_name if m else None for m in found]


async def member_events(runtime: Runtime, tenant: TenantFixture) -> list[str]:
    async with runtime.db.unit_of_work() as session:
        rows = await session.execute(
            sa.text(
                "SELECT topic FROM kernel.outbox_event"
                " WHERE tenant_id = :t AND topic LIKE 'member.%' ORDER BY id"
            ),
            {"t": tenant.id},
        )
        return [row.topic for row in rows]


def hook(tenant: TenantFixture) -> str:
    return f"/hooks/store/plugins/crm-rest/{tenant.id}"


async def push(
    client: httpx.AsyncClient, tenant: TenantFixture, version: int, number: str, name: str
) -> httpx.Response:
    body, headers = signed_push(SECRET, version, number, name)
    return await client.post(hook(tenant), content=body, headers=headers)


async def test_members_signed_up_in_the_crm_are_registered_once(
    runtime: Runtime, tenant: TenantFixture, crm: tuple[LoopbackServer, CrmState]
) -> None:
    _, state = crm
    phones = [phone(), phone()]
    state.sign_up(phones[0], "Zhao")
    state.sign_up(phones[1], "Qian")
    state.duplicate_pages = state.shuffle_pages = True
    subject = dispatcher(runtime)
    await subject.pull_once(tenant_id=tenant.id)
    await subject.pull_once(later(61), tenant_id=tenant.id)  # nothing new: nothing changes
    await subject.aclose()
    assert await names_of(runtime, tenant, phones) == ["Zhao", "Qian"]
    assert await member_events(runtime, tenant) == ["member.registered"] * 2


async def test_a_member_changed_in_the_crm_is_updated_by_the_next_pull(
    runtime: Runtime, tenant: TenantFixture, crm: tuple[LoopbackServer, CrmState]
) -> None:
    _, state = crm
    number = phone()
    state.sign_up(number, "Zhao")
    subject = dispatcher(runtime)
    await subject.pull_once(tenant_id=tenant.id)
    state.sign_up(number, "Zhao Lei")  # renamed at the counter: a newer version
    state.duplicate_pages = state.shuffle_pages = True
    await subject.pull_once(later(61), tenant_id=tenant.id)
    await subject.aclose()
    assert await names_of(runtime, tenant, [number]) == ["Zhao Lei"]


async def test_a_page_holding_old_and_new_versions_of_a_member_keeps_the_newest(
    runtime: Runtime, tenant: TenantFixture, crm: tuple[LoopbackServer, CrmState]
) -> None:
    _, state = crm
    number = phone()
    for name in ("v1", "v2", "v3"):
        state.sign_up(number, name)
    state.duplicate_pages = state.shuffle_pages = True
    subject = dispatcher(runtime)
    await subject.pull_once(tenant_id=tenant.id)
    await subject.aclose()
    assert await names_of(runtime, tenant, [number]) == ["v3"]
    assert await member_events(runtime, tenant) == ["member.registered"]


async def test_pushed_members_apply_once_and_never_go_back_to_an_older_version(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantFixture,
    crm: tuple[LoopbackServer, CrmState],
) -> None:
    number = phone()
    first = await push(client, tenant, 2, number, "Sun")
    assert first.status_code == 200 and first.json()["created"] is True
    duplicate = await push(client, tenant, 2, number, "Sun")
    assert duplicate.status_code == 200
    assert duplicate.json() == {**first.json(), "created": False, "applied": False}
    newer = await push(client, tenant, 4, number, "Sun Li")
    assert newer.json()["applied"] is True
    late = await push(client, tenant, 3, number, "Sun (late)")  # overtaken on the network
    assert late.status_code == 200 and late.json()["applied"] is False
    assert await names_of(runtime, tenant, [number]) == ["Sun Li"]


async def test_a_pulled_version_older_than_a_pushed_one_changes_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantFixture,
    crm: tuple[LoopbackServer, CrmState],
) -> None:
    _, state = crm
    number = phone()
    version = state.sign_up(number, "From the feed")
    assert (await push(client, tenant, version + 10, number, "Pushed later")).status_code == 200
    subject = dispatcher(runtime)
    await subject.pull_once(tenant_id=tenant.id)
    await subject.aclose()
    assert await names_of(runtime, tenant, [number]) == ["Pushed later"]


async def test_forged_stale_or_malformed_pushes_change_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantFixture,
    crm: tuple[LoopbackServer, CrmState],
) -> None:
    number = phone()
    body, headers = signed_push("guessed", 1, number, "Forged")
    assert (await client.post(hook(tenant), content=body, headers=headers)).status_code == 401
    body, headers = signed_push(SECRET, 1, number, "Stale", timestamp=1_000_000)
    assert (await client.post(hook(tenant), content=body, headers=headers)).status_code == 401
    for raw in (b"not json", b'{"version": 1}', b'{"version": "x", "phone": "1", "name": "a"}'):
        _, headers = signed_push(SECRET, 1, number, "x")
        stamp = headers["x-crm-timestamp"]
        headers["x-crm-signature"] = signing.signature(SECRET, stamp, raw)
        answer = await client.post(hook(tenant), content=raw, headers=headers)
        assert answer.status_code == 400, raw
    invalid = await push(client, tenant, 1, "12345", "Bad phone")
    assert invalid.status_code == 422 and invalid.json()["code"] == "INVALID_PHONE"
    assert await names_of(runtime, tenant, [number]) == [None]


async def test_a_push_to_another_tenant_reaches_only_that_tenant(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    crm: tuple[LoopbackServer, CrmState],
) -> None:
    number = phone()
    # The other tenant has not enabled crm-rest: its hook is not found.
    assert (await push(client, other_tenant, 1, number, "Elsewhere")).status_code == 404
    assert (await push(client, tenant, 1, number, "Here")).status_code == 200
    assert await names_of(runtime, other_tenant, [number]) == [None]


async def test_a_level_change_reaches_the_crm(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantFixture,
    crm: tuple[LoopbackServer, CrmState],
) -> None:
    _, state = crm
    admin = await tenant.token("tenant_admin")
    for level, name, threshold in ((1, "Silver", 0), (2, "Gold", 100)):
        body = await gql(
            client,
            admin,
            SET_LEVEL,
            {"input": {"level": level, "name": name, "growthThreshold": threshold}},
        )
        assert body["data"]["setMemberLevel"]["userErrors"] == []
    async with runtime.db.unit_of_work(tenant.id) as session:
        member = await member_api.register_member(
            session, tenant.id, phone=phone(), display_name="Zhou"
        )
    subject = dispatcher(runtime)
    await subject.run_once(tenant_id=tenant.id)
    assert state.levels[str(member.id)] == 1
    async with runtime.db.unit_of_work(tenant.id) as session:
        await member_api.add_growth_for_order(
            session, tenant.id, member_id=member.id, order_id=uuid.uuid4(), amount_paid=15_000
        )
    await subject.run_once(tenant_id=tenant.id)
    await subject.aclose()
    assert state.levels[str(member.id)] == 2
    assert state.growth[str(member.id)] == 150
