"""Placing opens the order's payment; the payment center's capture pays the order in the
same transaction (``payment.captured``); a cancelled order refuses the money, which goes
back; cancelling closes the payment."""

from __future__ import annotations

import asyncio
import secrets
import uuid

import httpx

from centers.payment import api as payment_api
from kernel.errors import UserInputError
from tests.builders import open_shop
from tests.centers.order.flows import fire, place, read
from tests.centers.order.test_place_order import stock_of
from tests.conftest import TenantFixture


async def _cash(tenant: TenantFixture, order_id: str, amount: int) -> str:
    """The cashier takes cash at the till (payment center); returns the outcome."""
    try:
        async with tenant.runtime.db.unit_of_work(tenant.id) as session:
            await payment_api.record_cash_payment(
                session,
                tenant.id,
                idempotency_key=f"cash-{secrets.token_hex(4)}",
                order_id=uuid.UUID(order_id),
                amount=amount,
            )
    except UserInputError as error:
        return error.code
    return "TAKEN"


async def _payment(tenant: TenantFixture, order_id: str) -> payment_api.OrderPaymentInfo | None:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        return await payment_api.get_order_payment(session, tenant.id, uuid.UUID(order_id))


async def test_placing_opens_a_payment_for_what_each_line_pays(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [2, 1])
    payment = await _payment(tenant, order["id"])
    assert payment is not None
    assert payment.amount.amount == order["total"]["amount"] == 2 * 1200 + 800


async def test_cash_covering_the_order_pays_it(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [1], order_type="DINE_IN")
    assert await _cash(tenant, order["id"], 1000) == "TAKEN"
    assert (await read(client, staff, order["id"]) or {})["status"] == "PLACED"
    assert await _cash(tenant, order["id"], 200) == "TAKEN"
    paid = await read(client, staff, order["id"])
    assert paid is not None and paid["status"] == "PAID"
    assert paid["paid"]["amount"] == 1200
    assert paid["history"][-1]["actor"] == "system:payment"


async def test_cancelling_closes_the_payment(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    buyer = await tenant.token("customer")
    order = await place(client, buyer, shop, [1])
    assert (await fire(client, buyer, order["id"], "CANCEL"))["userErrors"] == []
    payment = await _payment(tenant, order["id"])
    assert payment is not None and payment.status.value == "CLOSED"
    assert await _cash(tenant, order["id"], 1200) != "TAKEN"


async def test_cash_racing_cancel_leaves_no_money_on_a_cancelled_order(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    buyer = await tenant.token("customer")
    orders = [await place(client, buyer, shop, [1]) for _ in range(8)]

    async def cancel(order_id: str) -> str:
        body = await fire(client, buyer, order_id, "CANCEL")
        if body.get("errors"):
            return str(body["errors"][0]["extensions"]["code"])
        return "CANCELLED" if not body["userErrors"] else body["userErrors"][0]["code"]

    outcomes = await asyncio.gather(
        *(t for o in orders for t in (_cash(tenant, o["id"], 1200), cancel(o["id"])))
    )
    # Both take the payment's lock first, then the order's: one waits, none deadlocks.
    assert set(outcomes) <= {"TAKEN", "CANCELLED", "INVALID_TRANSITION", "ORDER_CLOSED"}
    sold = 0
    for order in orders:
        final = await read(client, buyer, order["id"])
        payment = await _payment(tenant, order["id"])
        assert final is not None and payment is not None
        if final["status"] == "PAID":
            sold += 1
            assert payment.status.value == "PAID" and final["paid"]["amount"] == 1200
        else:
            # Cancelled: whatever was taken went back.
            assert final["status"] == "CANCELLED" and final["paid"]["amount"] == 0
            assert payment.status.value == "CLOSED"
            async with tenant.runtime.db.unit_of_work(tenant.id) as session:
                refunds = await payment_api.refunds_of_order(
                    session, tenant.id, uuid.UUID(order["id"])
                )
            assert sum(r.amount.amount for r in refunds) == payment.paid_amount
    level = await stock_of(client, buyer, shop)
    assert (level["reserved"], level["onHand"]) == (0, 100 - sold)


async def test_cash_on_delivery_is_paid_at_the_door(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("store_manager")
    order = await place(client, staff, shop, [1], order_type="COD")
    assert (await fire(client, staff, order["id"], "SHIP"))["userErrors"] == []
    unpaid = await fire(client, staff, order["id"], "RECEIVE")
    assert [e["code"] for e in unpaid["userErrors"]] == ["NOT_PAID"]
    assert await _cash(tenant, order["id"], 1200) == "TAKEN"
    received = await read(client, staff, order["id"])
    assert received is not None and received["status"] == "RECEIVED"
    assert received["paid"]["amount"] == 1200


async def test_cash_on_delivery_may_be_paid_before_it_ships(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("store_manager")
    order = await place(client, staff, shop, [1], order_type="COD")
    assert await _cash(tenant, order["id"], 1200) == "TAKEN"
    assert (await read(client, staff, order["id"]) or {})["status"] == "PAID"
