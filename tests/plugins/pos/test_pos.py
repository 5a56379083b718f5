"""pos end to end: store orders pushed to the POS, its status callbacks into the order
state machine, including repeated, out-of-order and forged callbacks."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from centers.order import api as order_api
from kernel.app import Runtime
from kernel.dispatch import Dispatcher
from kernel.plugins.registry import PluginRegistry
from plugins import signing
from plugins.emulation import LoopbackServer
from plugins.pos.emulator import PosState, pos_emulator, send_status, signed_callback
from plugins.pos.plugin import MANIFEST, steps
from tests.builders import open_shop
from tests.conftest import TenantFixture, gql
from tests.kernel.dispatch.support import plugin_settings

CONFIGURE = """
mutation($settings: JSON!) {
  configurePlugin(input: {plugin: "pos", settings: $settings}) { userErrors { code } }
  enablePlugin(input: {plugin: "pos"}) { installation { enabled } userErrors { code } }
}
"""


@pytest.fixture
async def pos(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> AsyncIterator[tuple[LoopbackServer, PosState]]:
    server, state = pos_emulator()
    async with server:
        token = await tenant.token("tenant_admin")
        settings = {"base_url": server.url, "api_key": "pos-key", "callback_secret": "pos-secret"}
        body = await gql(client, token, CONFIGURE, {"settings": settings})
        assert body["data"]["enablePlugin"]["installation"]["enabled"] is True
        yield server, state


async def takeout_order(runtime: Runtime, tenant: TenantFixture) -> str:
    shop = await open_shop(tenant)
    async with runtime.db.unit_of_work(tenant.id) as session:
        order, _ = await order_api.import_channel_order(
            session,
            tenant.id,
            channel="MEITUAN",
            external_id=f"MT-{secrets.token_hex(4)}",
            store_id=shop.store_id,
            buyer="user:alice",
            lines=[order_api.LineRequest(sku_id=shop.sku_ids[0], quantity=1)],
            order_type="TAKEOUT",
            paid=True,
        )
    return str(order.id)


async def status_of(runtime: Runtime, tenant: TenantFixture, order_id: str) -> str:
    async with runtime.db.unit_of_work(tenant.id) as session:
        order = await order_api.get_order(session, tenant.id, uuid.UUID(order_id))
    assert order is not None
    return order.status


def hook(tenant: TenantFixture) -> str:
    return f"/hooks/store/plugins/pos/{tenant.id}"


def test_steps_fill_the_gap_and_ignore_what_is_behind() -> None:
    assert steps("TAKEOUT", "PAID", "ready") == ["ACCEPT", "MARK_READY"]
    assert steps("TAKEOUT", "ACCEPTED", "preparing") == ["START_PREPARING"]
    assert steps("TAKEOUT", "READY", "accepted") == []
    assert steps("DINE_IN", "READY", "completed") == ["SERVE"]
    assert steps("TAKEOUT", "PLACED", "accepted") is None


async def test_store_order_is_pushed_to_the_pos(
    runtime: Runtime, tenant: TenantFixture, pos: tuple[LoopbackServer, PosState]
) -> None:
    _, state = pos
    order_id = await takeout_order(runtime, tenant)
    subject = Dispatcher(
        runtime.db, registry=PluginRegistry([MANIFEST]), settings=plugin_settings()
    )
    await subject.run_once(tenant_id=tenant.id)
    await subject.aclose()
    assert order_id in state.orders


async def test_status_callbacks_move_the_order_even_repeated_and_out_of_order(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantFixture,
    pos: tuple[LoopbackServer, PosState],
) -> None:
    _, state = pos
    order_id = await takeout_order(runtime, tenant)
    # "ready" overtakes "accepted" on the network; then both arrive again.
    ready = await send_status(client, hook(tenant), state.callback_secret, order_id, "ready")
    assert ready.status_code == 200 and ready.json()["applied"] == ["ACCEPT", "MARK_READY"]
    assert await status_of(runtime, tenant, order_id) == "READY"
    for late in ("accepted", "ready"):
        again = await send_status(client, hook(tenant), state.callback_secret, order_id, late)
        assert again.status_code == 200 and again.json()["applied"] == []
    done = await send_status(client, hook(tenant), state.callback_secret, order_id, "completed")
    assert done.json()["applied"] == ["PICK_UP"]
    assert await status_of(runtime, tenant, order_id) == "PICKED_UP"


async def test_forged_or_stale_callback_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantFixture,
    pos: tuple[LoopbackServer, PosState],
) -> None:
    order_id = await takeout_order(runtime, tenant)
    forged = await send_status(client, hook(tenant), "guessed-secret", order_id, "accepted")
    assert forged.status_code == 401
    body, headers = signed_callback("pos-secret", order_id, "accepted", timestamp=1_000_000)
    stale = await client.post(hook(tenant), content=body, headers=headers)
    assert stale.status_code == 401
    assert await status_of(runtime, tenant, order_id) == "PAID"


async def test_callback_for_another_tenants_order_is_not_found(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    pos: tuple[LoopbackServer, PosState],
) -> None:
    theirs = await takeout_order(runtime, other_tenant)
    response = await send_status(client, hook(tenant), "pos-secret", theirs, "accepted")
    assert response.status_code == 404
    assert await status_of(runtime, other_tenant, theirs) == "PAID"


async def test_hook_of_a_tenant_without_the_plugin_is_not_found(
    client: httpx.AsyncClient, other_tenant: TenantFixture
) -> None:
    for path in (
        hook(other_tenant),
        "/hooks/store/plugins/pos/not-a-uuid",
        "/hooks/store/plugins/nope/x",
    ):
        body, headers = signed_callback("pos-secret", str(uuid.uuid4()), "accepted")
        response = await client.post(path, content=body, headers=headers)
        assert response.status_code == 404, path


async def test_malformed_callback_is_a_bad_request(
    client: httpx.AsyncClient, tenant: TenantFixture, pos: tuple[LoopbackServer, PosState]
) -> None:
    stamp = str(int(time.time()))
    for body in (
        b"not json",
        b'{"order_id": "x", "status": "accepted"}',
        b'{"order_id": "%s", "status": "eaten"}' % str(uuid.uuid4()).encode(),
    ):
        headers = {
            "x-pos-timestamp": stamp,
            "x-pos-signature": signing.signature("pos-secret", stamp, body),
        }
        response = await client.post(hook(tenant), content=body, headers=headers)
        assert response.status_code == 400, body
