"""carrier-rest end to end: its settings through the admin API, a wrong secret, and a
booked shipment cancelled here cancelling the courier there (through the dispatcher)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from centers.fulfillment import carriers
from kernel.app import Runtime
from kernel.db import Database
from kernel.dispatch import Dispatcher
from kernel.plugins.registry import PluginRegistry
from plugins.carrier.emulator import carrier_emulator
from plugins.carrier.plugin import MANIFEST
from tests.centers.fulfillment.test_carrier import book, enable, pickup_shipment, stop_following
from tests.conftest import TenantFixture, gql
from tests.kernel.dispatch.support import plugin_settings

CONFIGURE = """
mutation($settings: JSON!) {
  configurePlugin(input: {plugin: "carrier-rest", settings: $settings}) {
    installation { settings secretsSet } userErrors { field code }
  }
}
"""
CHECK = 'mutation { checkPlugin(input: {plugin: "carrier-rest"}) { ok error } }'
STATUS = """
mutation($input: SetShipmentStatusInput!) { setShipmentStatus(input: $input) { userErrors { code } } }
"""


@pytest.fixture(autouse=True)
async def short_timeout(monkeypatch: pytest.MonkeyPatch, db: Database) -> AsyncIterator[None]:
    monkeypatch.setattr(
        carriers, "get_plugin_settings", lambda: plugin_settings(plugin_call_timeout_seconds=0.3)
    )
    yield
    await stop_following(db)


async def test_settings_are_validated_and_the_secret_never_returned(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    good = {
        "base_url": "http://127.0.0.1:9",
        "app_key": "k",
        "app_secret": "s3cret",
        "shop_no": "SH-1",
    }
    bad = await gql(client, token, CONFIGURE, {"settings": {**good, "carrier_code": "no spaces"}})
    errors = bad["data"]["configurePlugin"]["userErrors"]
    assert errors == [{"field": ["input", "settings", "carrier_code"], "code": "INVALID_SETTINGS"}]
    missing = await gql(client, token, CONFIGURE, {"settings": {"base_url": "http://x"}})
    assert missing["data"]["configurePlugin"]["userErrors"][0]["code"] == "INVALID_SETTINGS"

    stored = await gql(client, token, CONFIGURE, {"settings": good})
    installation = stored["data"]["configurePlugin"]["installation"]
    assert installation["secretsSet"] == ["app_secret"]
    assert "app_secret" not in installation["settings"]
    assert "s3cret" not in str(stored)


async def test_a_wrong_secret_fails_the_health_check_and_the_booking(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    server, state = carrier_emulator(app_secret="the-real-secret")
    async with server:
        await enable(client, tenant, server)  # signs with "carrier-secret"
        token = await tenant.token("tenant_admin")
        checked = (await gql(client, token, CHECK))["data"]["checkPlugin"]
        assert checked["ok"] is False and "2005" in checked["error"]

        shipment_id = await pickup_shipment(client, tenant, token)
        refused = await book(client, token, shipment_id)
        assert [e["code"] for e in refused["userErrors"]] == ["CARRIER_UNAVAILABLE"]
        assert "2005" in refused["userErrors"][0]["message"]
        assert state.orders == {}


async def test_cancelling_a_booked_shipment_cancels_the_courier_once(
    client: httpx.AsyncClient, runtime: Runtime, tenant: TenantFixture
) -> None:
    server, state = carrier_emulator()
    async with server:
        await enable(client, tenant, server)
        token = await tenant.token("store_manager")
        booked_id = await pickup_shipment(client, tenant, token)
        assert (await book(client, token, booked_id))["userErrors"] == []
        unbooked_id = await pickup_shipment(client, tenant, token)
        for shipment_id in (booked_id, unbooked_id):
            body = await gql(
                client, token, STATUS, {"input": {"shipmentId": shipment_id, "status": "CANCELLED"}}
            )
            assert body["data"]["setShipmentStatus"]["userErrors"] == []

        server.faults.fail_next(1, status=503)  # the first delivery fails and is retried
        subject = Dispatcher(
            runtime.db, registry=PluginRegistry([MANIFEST]), settings=plugin_settings()
        )
        try:
            first = await subject.run_once(tenant_id=tenant.id)
            assert (first.failed, first.delivered) == (1, 1)  # the unbooked one: nothing to do
            assert state.cancellations == 0
            later = datetime.now(UTC) + timedelta(minutes=5)  # past the retry's backoff
            again = await subject.run_once(later, tenant_id=tenant.id)
            assert again.delivered == 1
        finally:
            await subject.aclose()
        assert state.cancelled() == [booked_id]
        assert state.cancellations == 1
