"""crm-rest end to end: members and points balances out, CRM sign-ups in."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from centers.member import api as member_api
from centers.points import api as points_api
from kernel.app import Runtime
from kernel.dispatch import Dispatcher
from kernel.plugins.registry import PluginRegistry
from plugins.crm.emulator import CrmState, crm_emulator
from plugins.crm.plugin import MANIFEST
from plugins.emulation import LoopbackServer
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
            client, token, CONFIGURE, {"settings": {"base_url": server.url, "api_key": "crm-key"}}
        )
        assert body["data"]["enablePlugin"]["installation"]["enabled"] is True
        yield server, state


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
    state.sign_up(phones[0], "Zhao again")  # a change of a known member: left as it is
    await subject.pull_once(later(61), tenant_id=tenant.id)
    await subject.aclose()
    async with runtime.db.unit_of_work(tenant.id) as session:
        found = [await member_api.member_by_phone(session, tenant.id, p) for p in phones]
    assert [m.display_name if m else None for m in found] == ["Zhao", "Qian"]
