"""One request, one connection, one operation at a time on it: no statement of a
request runs concurrently with another of its statements or after its unit of work
ended, even when a field fails while its siblings are still resolving."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import event

from centers.store.models import Store
from kernel import prepared
from kernel.app import Runtime
from tests.builders import open_shop
from tests.centers.order.test_place_order import PLACE, order_input
from tests.conftest import TenantFixture, gql

# Tasks that live as long as the app does.
_LONG_LIVED = {"policy-listener", "audit-writer"}


async def _settle() -> None:
    """Let every short-lived task of the app finish (bounded, no clock involved)."""
    for _ in range(10_000):
        others = [
            t
            for t in asyncio.all_tasks()
            if t is not asyncio.current_task() and t.get_name() not in _LONG_LIVED
        ]
        if not others:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"tasks still running: {others}")


async def test_a_failing_field_does_not_leave_its_siblings_running_on_the_connection(
    client: httpx.AsyncClient, tenant: TenantFixture, runtime: Runtime
) -> None:
    """``_entities`` refuses a malformed representation synchronously; the non-null
    root fails, and graphql-core leaves the sibling ``orders`` resolving in the
    background. The request must wait for it before it ends its unit of work."""
    shop = await open_shop(tenant)
    token = await tenant.token("tenant_admin")
    for _ in range(2):
        placed = await gql(client, token, PLACE, order_input(shop, [1]))
        assert placed["data"]["placeOrder"]["order"]["id"]
    statements: list[tuple[bool, str]] = []
    responded = False

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append((responded, statement))

    engine = runtime.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        query = (
            "{ orders(first: 5) { edges { node { id lines { lineNo } } } }"
            ' _entities(representations: [{__typename: "Order"}]) { __typename } }'
        )
        body = await gql(client, token, query, path="/subgraphs/order/graphql")
        responded = True
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        await _settle()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    late = [s for after, s in statements if after and ('"order"' in s or "order." in s)]
    assert late == [], late
    assert runtime.db.engine.pool.checkedout() == 0


async def test_every_session_operation_takes_turns_with_raw_statements(
    tenant: TenantFixture, runtime: Runtime
) -> None:
    """``kernel.prepared`` sends statements straight through asyncpg; ``get``, ``flush``
    and ``commit`` go through SQLAlchemy. Run together on one request's session, they
    take turns on its connection instead of colliding."""
    shop = await open_shop(tenant)
    session = runtime.db.session_for(tenant.id)
    statement = prepared.Statement("SELECT count(*) FROM stock.level WHERE tenant_id = $1")
    try:
        results = await asyncio.gather(
            prepared.fetchval(session, statement, tenant.id),
            session.get(Store, (tenant.id, shop.store_id)),
            prepared.fetchval(session, statement, tenant.id),
            session.flush(),
            prepared.fetchval(session, statement, tenant.id),
            session.get(Store, (tenant.id, shop.store_id)),
            session.commit(),
        )
    finally:
        await session.close()
    assert results[0] == results[2] == len(shop.sku_ids)
    assert results[1] is not None and results[1].id == shop.store_id
