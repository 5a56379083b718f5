"""erp-rest plays store.StoreDirectory (stores out) and promotion.PromotionSync
(activities in), against its emulator on loopback and the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from kernel.app import Runtime
from kernel.dispatch import Dispatcher
from kernel.plugins.registry import PluginRegistry
from plugins.emulation import LoopbackServer
from plugins.erp.rest import MANIFEST
from plugins.erp.rest_emulator import ErpState, erp_emulator
from tests.centers.promotion.arrange import ACTIVATE
from tests.conftest import TenantFixture, gql
from tests.kernel.dispatch.support import later, plugin_settings

CONFIGURE = """
mutation($settings: JSON!) {
  configurePlugin(input: {plugin: "erp-rest", settings: $settings}) { userErrors { code } }
  enablePlugin(input: {plugin: "erp-rest"}) { installation { enabled } userErrors { code } }
}
"""
CREATE_STORE = """
mutation($input: CreateStoreInput!) {
  createStore(input: $input) { store { id code name } userErrors { field code } }
}
"""
UPDATE_STORE = """
mutation($input: UpdateStoreInput!) {
  updateStore(input: $input) { store { id code name timezone } userErrors { field code } }
}
"""
ACTIVITIES = """
{ promotionActivities(first: 50) { edges { node {
    id name kind status externalId startsAt endsAt
    rules { tiers { threshold discount } discountBasisPoints priority }
} } } }
"""
SPRING = ("2026-03-01T00:00:00+08:00", "2026-03-31T00:00:00+08:00")


@pytest.fixture
async def erp() -> AsyncIterator[tuple[LoopbackServer, ErpState]]:
    server, state = erp_emulator(api_key="erp-key")
    async with server:
        yield server, state


async def connect(
    client: httpx.AsyncClient, tenant: TenantFixture, url: str, **settings: Any
) -> str:
    token = await tenant.token("tenant_admin")
    values = {"base_url": url, "api_key": "erp-key", **settings}
    body = await gql(client, token, CONFIGURE, {"settings": values})
    assert body["data"]["enablePlugin"]["installation"]["enabled"] is True, body
    return token


def dispatcher(runtime: Runtime, **overrides: Any) -> Dispatcher:
    return Dispatcher(
        runtime.db, registry=PluginRegistry([MANIFEST]), settings=plugin_settings(**overrides)
    )


async def create_store(client: httpx.AsyncClient, token: str, code: str, name: str) -> str:
    body = await gql(client, token, CREATE_STORE, {"input": {"code": code, "name": name}})
    payload = body["data"]["createStore"]
    assert payload["userErrors"] == [], payload
    store_id: str = payload["store"]["id"]
    return store_id


async def rename(client: httpx.AsyncClient, token: str, store_id: str, name: str) -> Any:
    body = await gql(client, token, UPDATE_STORE, {"input": {"id": store_id, "name": name}})
    return body["data"]["updateStore"]


async def activities(client: httpx.AsyncClient, token: str) -> dict[str, dict[str, Any]]:
    """The tenant's activities through GraphQL, by external id (imported ones only)."""
    body = await gql(client, token, ACTIVITIES)
    nodes = [edge["node"] for edge in body["data"]["promotionActivities"]["edges"]]
    return {n["externalId"]: n for n in nodes if n["externalId"] is not None}


# --- store.StoreDirectory ------------------------------------------------------------


async def test_a_store_created_then_renamed_reaches_the_erp_once_each(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    runtime: Runtime,
    erp: tuple[LoopbackServer, ErpState],
) -> None:
    server, state = erp
    token = await connect(client, tenant, server.url, push_stores=True)
    store_id = await create_store(client, token, "SH-001", "Jing'an")
    renamed = await rename(client, token, store_id, "Jing'an Kerry Centre")
    assert renamed["userErrors"] == []
    assert renamed["store"] == {
        "id": store_id,
        "code": "SH-001",
        "name": "Jing'an Kerry Centre",
        "timezone": "Asia/Shanghai",
    }
    unchanged = await rename(client, token, store_id, "Jing'an Kerry Centre")
    assert unchanged["userErrors"] == []  # the same name again: nothing to send

    subject = dispatcher(runtime)
    await subject.run_once(tenant_id=tenant.id)
    await subject.run_once(tenant_id=tenant.id)  # a second pass sends nothing more
    await subject.aclose()
    assert state.stores == {
        store_id: {"code": "SH-001", "name": "Jing'an Kerry Centre", "timezone": "Asia/Shanghai"}
    }
    assert len(state.store_changes[store_id]) == 2  # created, renamed: once each
    assert state.duplicates == 0


async def test_store_changes_made_while_the_erp_is_down_arrive_once_in_order(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    runtime: Runtime,
    erp: tuple[LoopbackServer, ErpState],
) -> None:
    server, state = erp
    token = await connect(client, tenant, server.url, push_stores=True)
    await server.stop()  # the consumer is down; stores keep being opened and renamed
    first = await create_store(client, token, "BJ-001", "Sanlitun")
    second = await create_store(client, token, "BJ-002", "Wangfujing")
    for name in ("Sanlitun North", "Sanlitun Taikoo Li"):
        assert (await rename(client, token, first, name))["userErrors"] == []
    subject = dispatcher(runtime, dispatch_max_attempts=50)
    clock = later(0)
    for _ in range(4):
        await subject.run_once(clock, tenant_id=tenant.id)
        clock = later(90, clock)
    assert state.stores == {}

    await server.start()  # back, losing the answers to a few PUTs it applied
    server.faults.lose_ack_next(2)
    for _ in range(12):
        await subject.run_once(clock, tenant_id=tenant.id)
        clock = later(90, clock)
    await subject.aclose()
    assert state.stores[first]["name"] == "Sanlitun Taikoo Li"  # the last rename wins
    assert state.stores[second]["name"] == "Wangfujing"
    # None lost, none applied twice: each change once, the retries deduplicated.
    assert {k: len(v) for k, v in state.store_changes.items()} == {first: 3, second: 1}
    assert all(len(set(v)) == len(v) for v in state.store_changes.values())
    assert state.duplicates >= 2


async def test_store_push_is_off_unless_the_tenant_turns_it_on(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    runtime: Runtime,
    erp: tuple[LoopbackServer, ErpState],
) -> None:
    server, state = erp
    token = await connect(client, tenant, server.url)
    await create_store(client, token, "GZ-001", "Tianhe")
    subject = dispatcher(runtime)
    await subject.run_once(tenant_id=tenant.id)
    await subject.aclose()
    assert state.stores == {} and state.duplicates == 0


async def test_bad_store_updates_are_user_errors_and_tell_the_erp_nothing(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    runtime: Runtime,
    erp: tuple[LoopbackServer, ErpState],
) -> None:
    server, state = erp
    token = await connect(client, tenant, server.url, push_stores=True)
    store_id = await create_store(client, token, "SZ-001", "Nanshan")
    cases = [
        ({"id": store_id, "name": "  "}, (["input", "name"], "INVALID_NAME")),
        ({"id": store_id, "timezone": "Mars/Olympus"}, (["input", "timezone"], "INVALID_TIMEZONE")),
        ({"id": "not-an-id", "name": "X"}, (["input", "id"], "INVALID_ID")),
        (
            {"id": "01a213e1-0000-7000-8000-000000000000", "name": "X"},
            (["input", "id"], "STORE_NOT_FOUND"),
        ),
    ]
    for variables, expected in cases:
        body = await gql(client, token, UPDATE_STORE, {"input": variables})
        payload = body["data"]["updateStore"]
        assert payload["store"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [expected]
    cashier = await tenant.token("cashier")
    refused = await gql(client, cashier, UPDATE_STORE, {"input": {"id": store_id, "name": "Y"}})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    subject = dispatcher(runtime)
    await subject.run_once(tenant_id=tenant.id)
    await subject.aclose()
    assert state.stores[store_id]["name"] == "Nanshan"
    assert len(state.store_changes[store_id]) == 1  # the creation only


# --- promotion.PromotionSync ---------------------------------------------------------


async def test_erp_activities_appear_as_drafts_and_updates_apply_despite_duplicates(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    runtime: Runtime,
    erp: tuple[LoopbackServer, ErpState],
) -> None:
    server, state = erp
    token = await connect(client, tenant, server.url, page_size=2)
    tiers = {"tiers": [{"threshold": 10000, "discount": 2000}]}
    state.set_activity("PROMO-1", "Spring 满减", "SPEND_AND_SAVE", *SPRING, tiers)
    state.set_activity("PROMO-2", "Members 8折", "PERCENT_OFF", *SPRING, {"discount_bp": 2000})
    state.set_activity(
        "PROMO-1",
        "Spring 满100减25",
        "SPEND_AND_SAVE",
        *SPRING,
        {"tiers": [{"threshold": 10000, "discount": 2500}]},
    )
    state.duplicate_feed = state.shuffle_feed = True

    subject = dispatcher(runtime)
    assert await subject.pull_once(tenant_id=tenant.id) == 1  # three pages of two
    seen = await activities(client, token)
    assert set(seen) == {"PROMO-1", "PROMO-2"}
    assert seen["PROMO-1"]["name"] == "Spring 满100减25"
    assert seen["PROMO-1"]["kind"] == "SPEND_AND_SAVE" and seen["PROMO-1"]["status"] == "DRAFT"
    assert seen["PROMO-1"]["rules"]["tiers"] == [{"threshold": 10000, "discount": 2500}]
    assert seen["PROMO-1"]["startsAt"].startswith("2026-02-28T16:00:00")
    assert seen["PROMO-2"]["rules"]["discountBasisPoints"] == 2000

    # The operator activates one; the ERP then extends it and changes its tiers: the
    # window follows the ERP, the live rules stay as priced.
    activated = await gql(client, token, ACTIVATE, {"input": {"activityId": seen["PROMO-1"]["id"]}})
    assert activated["data"]["activatePromotionActivity"]["userErrors"] == []
    state.set_activity(
        "PROMO-1",
        "Spring 满100减25 (extended)",
        "SPEND_AND_SAVE",
        SPRING[0],
        "2026-04-15T00:00:00+08:00",
        {"tiers": [{"threshold": 10000, "discount": 5000}]},
    )
    assert await subject.pull_once(later(31), tenant_id=tenant.id) == 1
    await subject.aclose()
    after = await activities(client, token)
    assert len(after) == 2  # updated in place, never a second copy
    assert after["PROMO-1"]["id"] == seen["PROMO-1"]["id"]
    assert after["PROMO-1"]["name"] == "Spring 满100减25 (extended)"
    assert after["PROMO-1"]["endsAt"].startswith("2026-04-14T16:00:00")
    assert after["PROMO-1"]["status"] == "ACTIVE"
    assert after["PROMO-1"]["rules"]["tiers"] == [{"threshold": 10000, "discount": 2500}]


async def test_activities_pulled_while_the_erp_fails_arrive_once_after(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    runtime: Runtime,
    erp: tuple[LoopbackServer, ErpState],
) -> None:
    server, state = erp
    token = await connect(client, tenant, server.url)
    state.set_activity("PROMO-9", "Flash", "PERCENT_OFF", *SPRING, {"discount_bp": 1000})
    # Three pulls in a row fail (each at its first request), then the breaker lets one by.
    server.faults.fail_next(3, status=503)
    subject = dispatcher(runtime)
    await subject.pull_once(tenant_id=tenant.id)
    assert await activities(client, token) == {}
    clock = later(0)
    for _ in range(3):
        clock = later(120, clock)
        await subject.pull_once(clock, tenant_id=tenant.id)
    await subject.aclose()
    seen = await activities(client, token)
    assert list(seen) == ["PROMO-9"] and seen["PROMO-9"]["name"] == "Flash"


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (
            {"id": "PROMO-X", "name": "No end", "type": "PERCENT_OFF", "starts_at": SPRING[0]},
            "malformed promotion activity #1 from the ERP",
        ),
        (
            {
                "id": "PROMO-X",
                "name": "?",
                "type": "CASHBACK",
                **dict(zip(("starts_at", "ends_at"), SPRING, strict=True)),
            },
            "malformed promotion activity #1 from the ERP",
        ),
        (
            {
                "id": "PROMO-X",
                "name": "Backwards",
                "type": "PERCENT_OFF",
                "starts_at": SPRING[1],
                "ends_at": SPRING[0],
            },
            "promotion PROMO-X (version 2): INVALID_WINDOW: endsAt must be after startsAt",
        ),
        (
            {
                "id": "PROMO-X",
                "name": "Too much",
                "type": "PERCENT_OFF",
                "starts_at": SPRING[0],
                "ends_at": SPRING[1],
                "rules": {"discount_bp": 10000},
            },
            "promotion PROMO-X (version 2): INVALID_RULES: discountBasisPoints must be 1 to 9999",
        ),
    ],
)
async def test_garbage_activities_write_nothing_and_the_admin_sees_why(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    runtime: Runtime,
    erp: tuple[LoopbackServer, ErpState],
    bad: dict[str, Any],
    error: str,
) -> None:
    server, state = erp
    token = await connect(client, tenant, server.url)
    state.set_activity("PROMO-OK", "Fine", "PERCENT_OFF", *SPRING, {"discount_bp": 500})
    state.version += 1
    state.activity_feed.append((state.version, bad))

    subject = dispatcher(runtime)
    await subject.pull_once(tenant_id=tenant.id)
    await subject.aclose()
    assert await activities(client, token) == {}  # not even the good one of the page
    health = await gql(client, token, "{ pluginInstallations { health { status lastError } } }")
    (installation,) = health["data"]["pluginInstallations"]
    assert installation["health"] == {
        "status": "FAILING",
        "lastError": f"pull failed: PluginError: {error}",
    }


async def test_each_tenant_imports_from_its_own_erp_and_sees_only_its_activities_and_stores(
    client: httpx.AsyncClient,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    runtime: Runtime,
    erp: tuple[LoopbackServer, ErpState],
) -> None:
    server, state = erp
    other_server, other_state = erp_emulator(api_key="erp-key")
    async with other_server:
        token = await connect(client, tenant, server.url, push_stores=True)
        other_token = await connect(client, other_tenant, other_server.url, push_stores=True)
        # The same external id in both ERPs: two activities, one per tenant.
        state.set_activity("PROMO-1", "Ours", "PERCENT_OFF", *SPRING, {"discount_bp": 1000})
        other_state.set_activity("PROMO-1", "Theirs", "PERCENT_OFF", *SPRING, {"discount_bp": 3000})
        ours = await create_store(client, token, "A-1", "Our store")
        theirs = await create_store(client, other_token, "A-1", "Their store")

        subject = dispatcher(runtime)
        for tenant_id in (tenant.id, other_tenant.id):
            await subject.pull_once(tenant_id=tenant_id)
            await subject.run_once(tenant_id=tenant_id)
        await subject.aclose()

        mine, others = await activities(client, token), await activities(client, other_token)
        assert mine["PROMO-1"]["name"] == "Ours" and others["PROMO-1"]["name"] == "Theirs"
        assert mine["PROMO-1"]["id"] != others["PROMO-1"]["id"]
        looked_up = await gql(
            client,
            token,
            "query($id: ID!) { promotionActivity(id: $id) { id } }",
            {"id": others["PROMO-1"]["id"]},
        )
        assert looked_up["data"]["promotionActivity"] is None
        assert list(state.stores) == [ours] and list(other_state.stores) == [theirs]
