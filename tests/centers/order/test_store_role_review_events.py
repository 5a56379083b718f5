"""Review of roles held at a store, on the long-lived ``orderEvents`` stream: a role
taken away at the store stops what the stream sends from the next event on."""

from __future__ import annotations

import asyncio

import httpx

from tests.builders import open_shop
from tests.centers.order.flows import place
from tests.centers.order.test_order_events_subscription import (  # noqa: F401 - fixture
    _next,
    _open,
    _subscribe,
    ws_url,
)
from tests.conftest import TenantFixture, gql
from tests.kernel.test_access_admin import CHANGE


async def test_a_role_taken_away_at_the_store_stops_its_order_events(
    ws_url: str,  # noqa: F811 - the fixture imported above
    client: httpx.AsyncClient,
    tenant: TenantFixture,
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    # Both tokens exist before the serving process first reads this tenant's rules.
    admin = await tenant.token("tenant_admin")
    kds = await tenant.store_token("cashier", shop.store_id, sub="kds-review")
    async with await _open(ws_url, kds) as screen:
        await _subscribe(screen, str(shop.store_id))
        await asyncio.sleep(0.3)  # the server is LISTENing once the source has started
        await place(client, staff, shop, [1])
        placed = await _next(screen)
        assert placed["type"] == "next", placed
        assert placed["payload"]["data"]["orderEvents"]["order"] is not None
        # Taken away through the serving process itself: its rules change at once.
        async with httpx.AsyncClient(
            base_url=ws_url.replace("ws://", "http://", 1).removesuffix("/graphql")
        ) as server:
            removed = await gql(
                server,
                admin,
                CHANGE.format(name="unassignRole", input="RoleAssignmentInput"),
                {
                    "i": {
                        "subject": "user:kds-review",
                        "role": "cashier",
                        "storeId": str(shop.store_id),
                    }
                },
            )
        assert removed["data"]["unassignRole"]["userErrors"] == [], removed
        await place(client, staff, shop, [1])
        refused = await _next(screen, within=5)
        assert refused["type"] == "error", refused
        assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
