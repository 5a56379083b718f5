"""Presale (预售) through the public API: a PRESALE_DEPOSIT activity prices the goods, the
order's payment is paid in two stages (deposit, then the balance once it opens), each
stage moves the order, refunds go back to the tenders that paid, and an unpaid balance
cancels the order by a durable job with the deposit kept."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.builders import Shop, open_shop
from tests.centers.order.flows import fire, place, read
from tests.centers.order.test_after_sales import _move, _request
from tests.centers.payment.test_stored_value import pay as pay_stored_value
from tests.centers.payment.test_stored_value import top_up
from tests.centers.promotion.arrange import CREATE, register
from tests.conftest import TenantFixture, gql

CASH = """
mutation($input: RecordCashPaymentInput!) {
  recordCashPayment(input: $input) { payment { tender status } userErrors { field code } }
}
"""
PAYMENT = """
query($id: ID!) {
  orderPayment(orderId: $id) {
    status amount { amount } paidAmount refundedAmount depositAmount balanceFrom
    tenders { tender status amount { amount } }
    refunds { tender amount { amount } reason status }
  }
}
"""
ACTIVATE = """
mutation($input: PromotionActivityIdInput!) {
  activatePromotionActivity(input: $input) {
    promotionActivity { id status } userErrors { field code }
  }
}
"""


async def _cash(client: httpx.AsyncClient, token: str, order_id: str, amount: int) -> list[str]:
    body = await gql(
        client,
        token,
        CASH,
        {"input": {"idempotencyKey": secrets.token_hex(6), "orderId": order_id, "amount": amount}},
    )
    return [e["code"] for e in body["data"]["recordCashPayment"]["userErrors"]]


async def _payment(client: httpx.AsyncClient, token: str, order_id: str) -> dict[str, Any]:
    body = await gql(client, token, PAYMENT, {"id": order_id})
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["orderPayment"]
    return found


async def _presale_activity(
    client: httpx.AsyncClient, admin: str, shop: Shop, unit_price: int, ends_at: datetime
) -> dict[str, Any]:
    values = {
        "name": "双11预售",
        "kind": "PRESALE_DEPOSIT",
        "startsAt": "2020-01-01T00:00:00+00:00",
        "endsAt": ends_at.isoformat(),
        "rules": {"unitPrice": unit_price, "scope": {"skuIds": [str(shop.sku_ids[0])]}},
    }
    created = (await gql(client, admin, CREATE, {"input": values}))["data"]
    activity_id = created["createPromotionActivity"]["promotionActivity"]["id"]
    body = await gql(client, admin, ACTIVATE, {"input": {"activityId": activity_id}})
    payload: dict[str, Any] = body["data"]["activatePromotionActivity"]
    return payload


async def test_a_presale_activity_prices_presale_orders_and_opens_the_balance_at_its_end(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    cashier = await tenant.token("cashier")
    shop = await open_shop(tenant)
    ends = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    activated = await _presale_activity(client, admin, shop, 1000, ends)
    assert activated["userErrors"] == []
    assert activated["promotionActivity"]["status"] == "ACTIVE"

    order = await place(client, cashier, shop, [2], order_type="PRESALE")
    assert order["total"]["amount"] == 2 * 1000  # the presale price, not 2 × 1200
    assert order["deposit"]["amount"] == 2000 * 20 // 100
    standard = await place(client, cashier, shop, [2])
    assert standard["total"]["amount"] == 2 * 1200  # presale prices presale orders only

    payment = await _payment(client, admin, order["id"])
    assert payment["depositAmount"] == 400
    assert datetime.fromisoformat(payment["balanceFrom"]) == ends

    assert await _cash(client, cashier, order["id"], 401) == ["AMOUNT_EXCEEDS_DUE"]
    assert await _cash(client, cashier, order["id"], 400) == []
    paid = await read(client, cashier, order["id"])
    assert paid is not None
    assert (paid["status"], paid["paid"]["amount"]) == ("DEPOSIT_PAID", 400)
    assert paid["statusViews"]["buyer"] == "TO_PAY_BALANCE"
    # The balance waits for the presale to end (尾款 opens when 预售 closes).
    assert await _cash(client, cashier, order["id"], 1600) == ["BALANCE_NOT_OPEN"]
    assert (await _payment(client, admin, order["id"]))["status"] == "OPEN"


async def test_deposit_then_balance_pay_the_order_and_a_refund_goes_back_to_both_tenders(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    cashier = await tenant.token("cashier")
    buyer = await tenant.token("customer")
    member = await register(tenant)
    await top_up(client, cashier, member, 10_000, f"t-{secrets.token_hex(3)}")
    shop = await open_shop(tenant)
    # No presale activity: the balance is payable as soon as the deposit is in.
    order = await place(client, buyer, shop, [1, 1], order_type="PRESALE")
    total, deposit = order["total"]["amount"], order["deposit"]["amount"]
    assert (total, deposit) == (2000, 400)
    assert await _cash(client, cashier, order["id"], deposit) == []
    paid_balance = await pay_stored_value(client, cashier, order["id"], member, total - deposit)
    assert paid_balance["userErrors"] == [], paid_balance
    after = await read(client, buyer, order["id"])
    assert after is not None
    assert (after["status"], after["paid"]["amount"]) == ("PAID", total)
    assert [h["event"] for h in after["history"]] == ["PLACE", "PAY", "PAY"]
    payment = await _payment(client, admin, order["id"])
    assert payment["status"] == "PAID"
    assert [(t["tender"], t["amount"]["amount"]) for t in payment["tenders"]] == [
        ("CASH", 400),
        ("STORED_VALUE", 1600),
    ]

    # Refund line 1 (1200): it was paid 20% by the cash deposit, 80% by stored value.
    asked = await _request(
        client, buyer, order["id"], "REFUND_ONLY", [{"lineNo": 1, "quantity": 1}]
    )
    assert asked["userErrors"] == [], asked
    done = await _move(client, admin, asked["afterSale"]["id"], "APPROVE")
    assert done["afterSale"]["status"] == "REFUNDED"
    refunds = (await _payment(client, admin, order["id"]))["refunds"]
    by_tender = {r["tender"]: r["amount"]["amount"] for r in refunds}
    assert sum(by_tender.values()) == 1200
    assert by_tender == {"CASH": 240, "STORED_VALUE": 960}


async def test_an_unpaid_balance_cancels_the_order_by_job_and_the_deposit_is_kept(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    cashier = await tenant.token("cashier")
    shop = await open_shop(tenant)
    order = await place(client, cashier, shop, [1], order_type="PRESALE")
    assert await _cash(client, cashier, order["id"], order["deposit"]["amount"]) == []
    # Not due yet: the balance window (72 h by default) is still open.
    await tenant.runtime.jobs.run_due(now=datetime.now(UTC) + timedelta(hours=71))
    assert (await read(client, cashier, order["id"]) or {})["status"] == "DEPOSIT_PAID"
    ran = await tenant.runtime.jobs.run_due(now=datetime.now(UTC) + timedelta(hours=73))
    assert ran >= 1
    cancelled = await read(client, cashier, order["id"])
    assert cancelled is not None
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["history"][-1]["event"] == "BALANCE_TIMEOUT"
    payment = await _payment(client, admin, order["id"])
    assert payment["status"] == "CLOSED"
    assert payment["refunds"] == []  # 定金不退: the deposit stays with the merchant
    assert payment["paidAmount"] == order["deposit"]["amount"]
    assert await _cash(client, cashier, order["id"], 1) == ["ORDER_CLOSED"]
    # Firing it again (a redelivered job) changes nothing.
    assert await tenant.runtime.jobs.run_due(now=datetime.now(UTC) + timedelta(hours=80)) == 0


async def test_a_buyer_cancelling_after_the_deposit_forfeits_it(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    cashier = await tenant.token("cashier")
    buyer = await tenant.token("customer")
    shop = await open_shop(tenant)
    order = await place(client, buyer, shop, [1], order_type="PRESALE")
    assert await _cash(client, cashier, order["id"], order["deposit"]["amount"]) == []
    assert (await fire(client, buyer, order["id"], "CANCEL"))["userErrors"] == []
    payment = await _payment(client, admin, order["id"])
    assert (payment["status"], payment["refunds"]) == ("CLOSED", [])


async def test_staff_cancelling_after_the_deposit_refunds_it(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    cashier = await tenant.token("cashier")
    shop = await open_shop(tenant)
    order = await place(client, cashier, shop, [1], order_type="PRESALE")
    deposit = order["deposit"]["amount"]
    assert await _cash(client, cashier, order["id"], deposit) == []
    cancelled = await fire(client, admin, order["id"], "CANCEL", reason="cannot supply")
    assert cancelled["userErrors"] == [], cancelled
    payment = await _payment(client, admin, order["id"])
    assert payment["status"] == "CLOSED"
    assert [(r["tender"], r["amount"]["amount"], r["reason"]) for r in payment["refunds"]] == [
        ("CASH", deposit, "ORDER_CLOSED")
    ]


async def test_a_presale_order_too_small_to_split_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    shop = await open_shop(tenant, prices=(1,))
    body = await gql(
        client,
        cashier,
        """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
          order { id } userErrors { field code } } }""",
        {
            "input": {
                "idempotencyKey": secrets.token_hex(6),
                "storeId": str(shop.store_id),
                "type": "PRESALE",
                "channel": "POS",
                "lines": [{"skuId": str(shop.sku_ids[0]), "quantity": 1}],
            }
        },
    )
    payload = body["data"]["placeOrder"]
    assert payload["order"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["PRESALE_TOO_SMALL"]


async def test_the_balance_racing_a_buyer_cancel_never_keeps_the_balance_of_a_cancelled_order(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    cashier = await tenant.token("cashier")
    buyer = await tenant.token("customer")
    shop = await open_shop(tenant)
    for _ in range(3):
        order = await place(client, buyer, shop, [1], order_type="PRESALE")
        total, deposit = order["total"]["amount"], order["deposit"]["amount"]
        assert await _cash(client, cashier, order["id"], deposit) == []
        cancel, balance = await asyncio.gather(
            fire(client, buyer, order["id"], "CANCEL"),
            _cash(client, cashier, order["id"], total - deposit),
        )
        final = await read(client, buyer, order["id"])
        payment = await _payment(client, admin, order["id"])
        assert final is not None
        refunded = sum(r["amount"]["amount"] for r in payment["refunds"])
        if final["status"] == "PAID":
            assert [e["code"] for e in cancel["userErrors"]] == ["INVALID_TRANSITION"]
            assert (payment["status"], refunded) == ("PAID", 0)
        else:
            assert final["status"] == "CANCELLED"
            assert payment["status"] == "CLOSED"
            # The deposit is forfeited; a balance that got in is given back in full.
            assert refunded == (total - deposit if balance == [] else 0)


async def test_the_balance_racing_the_balance_timeout_job_leaves_one_consistent_outcome(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    cashier = await tenant.token("cashier")
    shop = await open_shop(tenant)
    order = await place(client, cashier, shop, [1], order_type="PRESALE")
    total, deposit = order["total"]["amount"], order["deposit"]["amount"]
    assert await _cash(client, cashier, order["id"], deposit) == []
    _, balance = await asyncio.gather(
        tenant.runtime.jobs.run_due(now=datetime.now(UTC) + timedelta(hours=73)),
        _cash(client, cashier, order["id"], total - deposit),
    )
    final = await read(client, cashier, order["id"])
    payment = await _payment(client, admin, order["id"])
    assert final is not None
    refunded = sum(r["amount"]["amount"] for r in payment["refunds"])
    if final["status"] == "PAID":
        assert balance == [] and (payment["status"], refunded) == ("PAID", 0)
    else:
        assert final["status"] == "CANCELLED"
        assert payment["status"] == "CLOSED"
        assert refunded == (total - deposit if balance == [] else 0)
