"""The order center's api for plugins: channel order import and POS status callbacks."""

from __future__ import annotations

import httpx
import pytest

from centers.order import api as order_api
from kernel.errors import UserInputError
from tests.builders import open_shop
from tests.centers.order.flows import read
from tests.centers.order.test_place_order import stock_of
from tests.conftest import TenantFixture


async def test_importing_a_channel_order_twice_creates_it_once(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    lines = [order_api.LineRequest(sku_id=shop.sku_ids[0], quantity=2)]
    results = []
    for _ in range(2):
        async with tenant.runtime.db.unit_of_work(tenant.id) as session:
            results.append(
                await order_api.import_channel_order(
                    session,
                    tenant.id,
                    channel="MEITUAN",
                    external_id="MT-20261125-0001",
                    store_id=shop.store_id,
                    buyer="sa:channel-meituan",
                    lines=lines,
                )
            )
    (first, first_replayed), (second, second_replayed) = results
    assert (first_replayed, second_replayed) == (False, True)
    assert first.id == second.id
    assert (first.channel, first.external_id, first.status) == (
        "MEITUAN",
        "MT-20261125-0001",
        "PAID",
    )
    assert first.paid_amount == first.total.amount == 2 * shop.prices[0]
    staff = await tenant.token("cashier")
    # Paid on the channel: sold (deducted at payment), not just held.
    assert await stock_of(client, staff, shop) == {"onHand": 98, "reserved": 0, "available": 98}
    found = await read(client, staff, str(first.id))
    assert found is not None
    assert [h["event"] for h in found["history"]] == ["PLACE", "PAY"]
    assert found["history"][1]["actor"] == "sa:channel-meituan"


async def test_an_unpaid_channel_order_waits_for_payment(tenant: TenantFixture) -> None:
    shop = await open_shop(tenant)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        order, _ = await order_api.import_channel_order(
            session,
            tenant.id,
            channel="AGENCY",
            external_id="A-1",
            store_id=shop.store_id,
            buyer="sa:agency",
            lines=[order_api.LineRequest(sku_id=shop.sku_ids[0], quantity=1)],
            order_type="STANDARD",
            paid=False,
        )
    assert order.status == "PLACED" and order.paid_amount == 0


async def test_pos_callbacks_move_a_restaurant_order_idempotently(tenant: TenantFixture) -> None:
    shop = await open_shop(tenant)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        order, _ = await order_api.import_channel_order(
            session,
            tenant.id,
            channel="ELEME",
            external_id="E-9",
            store_id=shop.store_id,
            buyer="sa:channel-eleme",
            lines=[order_api.LineRequest(sku_id=shop.sku_ids[1], quantity=1)],
        )
    outcomes = []
    for event, key in (("ACCEPT", "pos-1"), ("ACCEPT", "pos-1"), ("MARK_READY", "pos-2")):
        async with tenant.runtime.db.unit_of_work(tenant.id) as session:
            outcomes.append(
                await order_api.apply_event(
                    session, tenant.id, order.id, event, "sa:pos-plugin", "from POS", key
                )
            )
    assert [(o.order.status, o.replayed) for o in outcomes] == [
        ("ACCEPTED", False),
        ("ACCEPTED", True),
        ("READY", False),
    ]
    assert outcomes[-1].order.pickup_code is not None
    with pytest.raises(UserInputError) as refused:
        async with tenant.runtime.db.unit_of_work(tenant.id) as session:
            await order_api.apply_event(
                session, tenant.id, order.id, "ACCEPT", "sa:pos-plugin", "", "pos-3"
            )
    assert refused.value.code == "INVALID_TRANSITION"
