"""A refund the payment provider refuses after the fact (its callback says FAILED).

The order had counted the refund on its lines when it was asked for; the refusal takes
it off again in the same transaction, so the order's and the payment's money views keep
agreeing, and the after-sale request waits in ``REFUND_FAILED`` (with what was refused
on its lines) until staff ``RETRY``. A direct ``refundPayment`` that is refused is
taken off the order too, with a history entry. Real sandbox provider on loopback.
"""

from __future__ import annotations

from typing import Any

import httpx

from kernel.app import Runtime
from tests.centers.order.test_after_sales import _move, _request
from tests.centers.payment.arrange import Placed, placed_order, sandbox
from tests.centers.payment.test_sandbox_provider import REFUND, start, state
from tests.conftest import TenantFixture, gql

MONEY = """
query($id: ID!) { order(id: $id) {
  status refunded { amount }
  lines { lineNo payable { amount } refunded { amount } }
  afterSales { id status availableEvents lines { lineNo amount { amount } refused { amount } } }
  history { event reason }
} }
"""


async def _money(client: httpx.AsyncClient, token: str, order: Placed) -> dict[str, Any]:
    body = await gql(client, token, MONEY, {"id": str(order.order_id)})
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["order"]
    return found


async def test_a_refused_after_sale_refund_comes_off_the_order_and_waits_for_a_retry(
    client: httpx.AsyncClient, tenant: TenantFixture, app_runtime: tuple[Any, Runtime]
) -> None:
    buyer = await tenant.token("customer", sub="buyer")  # placed_order's buyer
    cashier = await tenant.token("cashier")
    manager = await tenant.token("store_manager")
    order = await placed_order(tenant)
    async with sandbox(app_runtime[0], tenant) as box:
        started = await start(client, cashier, order)
        await box.emulator.pay(started["payment"]["providerReference"])
        await box.emulator.settled()
        line = (await _money(client, manager, order))["lines"][0]
        amount = line["payable"]["amount"]

        box.emulator.refuse_refunds = True
        asked = await _request(
            client, buyer, str(order.order_id), "REFUND_ONLY", [{"lineNo": 1, "quantity": 1}]
        )
        assert asked["userErrors"] == [], asked
        after_sale = asked["afterSale"]["id"]
        approved = await _move(client, manager, after_sale, "APPROVE")
        assert approved["afterSale"]["status"] == "REFUNDED"
        await box.emulator.settled()

        refused = await _money(client, manager, order)
        assert refused["refunded"]["amount"] == 0
        assert refused["lines"][0]["refunded"]["amount"] == 0
        request = refused["afterSales"][0]
        assert request["status"] == "REFUND_FAILED"
        assert request["availableEvents"] == ["RETRY"]
        assert request["lines"] == [
            {"lineNo": 1, "amount": {"amount": amount}, "refused": {"amount": amount}}
        ]
        assert "REFUND_REFUSE" in [h["event"] for h in refused["history"]]
        paid = await state(client, manager, order)
        assert paid["refundedAmount"] == 0  # both views agree
        assert [r["status"] for r in paid["refunds"]] == ["FAILED"]
        as_buyer = await _money(client, buyer, order)
        assert as_buyer["afterSales"][0]["availableEvents"] == []  # staff retries

        box.emulator.refuse_refunds = False
        retried = await _move(client, manager, after_sale, "RETRY")
        assert retried["userErrors"] == [] and retried["afterSale"]["status"] == "REFUNDED"
        again = await _move(client, manager, after_sale, "RETRY")
        assert [e["code"] for e in again["userErrors"]] == ["INVALID_TRANSITION"]
        await box.emulator.settled()

    done = await _money(client, manager, order)
    assert done["refunded"]["amount"] == amount
    assert done["lines"][0]["refunded"]["amount"] == amount
    assert done["afterSales"][0]["status"] == "REFUNDED"
    assert done["afterSales"][0]["lines"][0]["refused"]["amount"] == 0
    paid = await state(client, manager, order)
    assert paid["refundedAmount"] == amount
    assert sorted(r["status"] for r in paid["refunds"]) == ["FAILED", "SUCCEEDED"]


async def test_a_refused_direct_refund_comes_off_the_order(
    client: httpx.AsyncClient, tenant: TenantFixture, app_runtime: tuple[Any, Runtime]
) -> None:
    cashier = await tenant.token("cashier")
    admin = await tenant.token("tenant_admin")
    order = await placed_order(tenant)
    async with sandbox(app_runtime[0], tenant) as box:
        started = await start(client, cashier, order)
        await box.emulator.pay(started["payment"]["providerReference"])
        await box.emulator.settled()
        box.emulator.refuse_refunds = True
        body = await gql(
            client,
            admin,
            REFUND,
            {
                "input": {
                    "idempotencyKey": "direct-1",
                    "orderId": str(order.order_id),
                    "lines": [{"lineId": str(order.lines[0]), "amount": 300}],
                }
            },
        )
        assert body["data"]["refundPayment"]["userErrors"] == []
        counted = await _money(client, admin, order)
        assert counted["refunded"]["amount"] == 300  # counted while PENDING
        await box.emulator.settled()

    refused = await _money(client, admin, order)
    assert refused["refunded"]["amount"] == 0
    assert sum(line["refunded"]["amount"] for line in refused["lines"]) == 0
    entry = next(h for h in refused["history"] if h["event"] == "REFUND_REFUSED")
    assert "300 refused by the payment provider" in entry["reason"]
    assert (await state(client, admin, order))["refundedAmount"] == 0
