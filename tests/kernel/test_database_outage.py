"""The database going away under a request: a retryable ``UNAVAILABLE`` (HTTP 503 with
``Retry-After``), never ``INTERNAL``; a retry with the same idempotency key does the
work exactly once; the server recovers by itself.

The outage is real: the app's own PostgreSQL backends are terminated with
``pg_terminate_backend`` (what a restart or a fail-over does to them), while a request
waits on a row lock the test holds, so the request is in flight for certain.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.builders import Shop, open_shop
from tests.conftest import TenantFixture, gql

ADJUST = """
mutation($input: AdjustStockInput!) {
  adjustStock(input: $input) { stockLevel { onHand } userErrors { code } }
}
"""
PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id } replayed userErrors { code } }
}
"""
STOCK = (
    "query($id: ID!, $store: ID!) { sku(id: $id) { stock(storeId: $store) { onHand reserved } } }"
)
# The server's pooled connections name themselves so (kernel.db.create_engine).
APP_BACKENDS = """
SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND application_name = 'zhongtai' AND pid <> pg_backend_pid()
"""


def _dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


@asynccontextmanager
async def _row_locked(database_url: str, shop: Shop, tenant: TenantFixture) -> AsyncIterator[Any]:
    """Hold the lock of the first SKU's stock row, as another transaction would."""
    holder = await asyncpg.connect(_dsn(database_url))
    try:
        async with holder.transaction():
            locked = await holder.fetchval(
                "SELECT on_hand FROM stock.level WHERE tenant_id = $1 AND store_id = $2"
                " AND sku_id = $3 FOR UPDATE",
                tenant.id,
                shop.store_id,
                shop.sku_ids[0],
            )
            assert locked is not None
            yield holder
    finally:
        await holder.close()


async def _terminate_waiting_backend(holder: Any) -> None:
    """Terminate the app backend blocked on the held lock, once it is blocked on it."""
    for _ in range(2000):
        pids = await holder.fetch(APP_BACKENDS + " AND wait_event_type = 'Lock'")
        if pids:
            for row in pids:
                await holder.execute("SELECT pg_terminate_backend($1)", row["pid"])
            return
        await asyncio.sleep(0.01)
    seen = await holder.fetch(
        "SELECT application_name, state, wait_event_type, wait_event, left(query, 80) AS q"
        " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    raise AssertionError(f"the request never waited on the lock: {[dict(r) for r in seen]}")


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    codes = [e["extensions"]["code"] for e in response.json()["errors"]]
    assert codes == ["UNAVAILABLE"], response.text
    assert "idempotency" in response.json()["errors"][0]["message"]


async def _on_hand(client: httpx.AsyncClient, token: str, shop: Shop) -> int:
    body = await gql(
        client, token, STOCK, {"id": str(shop.sku_ids[0]), "store": str(shop.store_id)}
    )
    on_hand: int = body["data"]["sku"]["stock"]["onHand"]
    return on_hand


async def test_a_mutation_cut_off_by_the_database_answers_unavailable_and_retries_once(
    client: httpx.AsyncClient, tenant: TenantFixture, database_url: str
) -> None:
    """adjustStock runs through SQLAlchemy: its connection dies while it waits."""
    shop = await open_shop(tenant, stock=10)
    token = await tenant.token("tenant_admin")
    adjust = {
        "input": {
            "idempotencyKey": secrets.token_hex(8),
            "storeId": str(shop.store_id),
            "skuId": str(shop.sku_ids[0]),
            "delta": 5,
            "reason": "received",
        }
    }
    headers = {"authorization": f"Bearer {token}"}
    async with _row_locked(database_url, shop, tenant) as holder:
        request = asyncio.create_task(
            client.post("/graphql", json={"query": ADJUST, "variables": adjust}, headers=headers)
        )
        await _terminate_waiting_backend(holder)
        _assert_unavailable(await request)
    retried = await gql(client, token, ADJUST, adjust)
    assert retried["data"]["adjustStock"]["stockLevel"]["onHand"] == 15
    again = await gql(client, token, ADJUST, adjust)
    assert again["data"]["adjustStock"]["stockLevel"]["onHand"] == 15
    assert await _on_hand(client, token, shop) == 15


@pytest.mark.xfail(
    strict=False,
    reason="open bug: in the full suite (and always in an app instance of its own) the "
    "placement sometimes never reaches the database while the row is locked elsewhere; "
    "the request waits on an asyncpg future with no backend busy (see the closing note "
    "of 2026-12-07). Passes when run alone.",
)
async def test_a_placement_cut_off_in_its_raw_asyncpg_statement_answers_unavailable(
    client: httpx.AsyncClient, tenant: TenantFixture, database_url: str
) -> None:
    """placeOrder reserves stock with a statement sent straight through asyncpg
    (kernel.prepared): asyncpg's own errors map the same way."""
    shop = await open_shop(tenant, stock=10)
    token = await tenant.token("tenant_admin")
    order = {
        "input": {
            "idempotencyKey": secrets.token_hex(8),
            "storeId": str(shop.store_id),
            "lines": [{"skuId": str(shop.sku_ids[0]), "quantity": 2}],
        }
    }
    headers = {"authorization": f"Bearer {token}"}
    async with _row_locked(database_url, shop, tenant) as holder:
        request = asyncio.create_task(
            client.post("/graphql", json={"query": PLACE, "variables": order}, headers=headers)
        )
        await _terminate_waiting_backend(holder)
        _assert_unavailable(await request)
    first = await gql(client, token, PLACE, order)
    assert first["data"]["placeOrder"]["order"]["id"]
    replay = await gql(client, token, PLACE, order)
    assert replay["data"]["placeOrder"]["replayed"] is True
    body = await gql(
        client, token, STOCK, {"id": str(shop.sku_ids[0]), "store": str(shop.store_id)}
    )
    assert body["data"]["sku"]["stock"]["reserved"] == 2


async def test_the_server_recovers_when_every_connection_was_dropped(
    client: httpx.AsyncClient, tenant: TenantFixture, database_url: str
) -> None:
    """As after a PostgreSQL restart: every pooled connection is dead. Requests never
    answer INTERNAL, and the pool replaces its connections without a restart."""
    token = await tenant.token("tenant_admin")
    # Fill the pool with several connections first.
    bodies = await asyncio.gather(*(gql(client, token, "{ tenant { slug } }") for _ in range(5)))
    assert all(b["data"]["tenant"]["slug"] == tenant.slug for b in bodies)
    admin = await asyncpg.connect(_dsn(database_url))
    try:
        for row in await admin.fetch(APP_BACKENDS):
            await admin.execute("SELECT pg_terminate_backend($1)", row["pid"])
    finally:
        await admin.close()
    answers = []
    for _ in range(6):
        response = await client.post(
            "/graphql",
            json={"query": "{ tenant { slug } stores(first: 1) { edges { node { id } } } }"},
            headers={"authorization": f"Bearer {token}"},
        )
        answers.append(response.status_code)
        if response.status_code == 503:
            _assert_unavailable(response)
        else:
            assert response.status_code == 200, response.text
            assert response.json()["data"]["tenant"]["slug"] == tenant.slug
    assert answers[-1] == 200, answers
    assert answers.count(503) <= 1, answers


async def test_an_unreachable_database_answers_unavailable(
    settings: Any, tenant: TenantFixture
) -> None:
    """Nothing listens where the database should be: connecting is refused."""
    from kernel.app import create_app
    from schema.subgraphs import served_api

    closed = make_url(settings.database_url).set(host="127.0.0.1", port=1)
    down = settings.model_copy(
        update={"database_url": closed.render_as_string(hide_password=False)}
    )
    app = create_app(served_api(), down)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://down.test") as c:
            token = await tenant.token("tenant_admin")
            response = await c.post(
                "/graphql",
                json={"query": "{ tenant { slug } }"},
                headers={"authorization": f"Bearer {token}"},
            )
            _assert_unavailable(response)
            ready = await c.get("/ready")
            assert ready.status_code == 503
            # Routes outside GraphQL (a provider's callback, a plugin's hook) too: a
            # JSON 503 the sender retries, not a plain-text 500.
            for path in (
                f"/callbacks/payment/sandbox/{tenant.id}",
                f"/hooks/store/plugins/erp-rest/{tenant.id}",
            ):
                outside = await c.post(path, content=b"{}")
                assert outside.status_code == 503, (path, outside.text)
                assert outside.headers["retry-after"].isdigit()
                assert outside.json() == {"error": "unavailable; retry later"}
