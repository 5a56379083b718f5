"""Payment timeout (a durable job that fires once), after-sale completion, and the
races: pay against cancel, pay against the timeout. Exactly one wins, invariants hold."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from centers.order import api as order_api
from kernel.errors import UserInputError
from kernel.jobs import job_status
from tests.builders import Shop, open_shop
from tests.centers.order.flows import fire, pay, place, read
from tests.centers.order.test_place_order import stock_of
from tests.conftest import TenantFixture


async def _timeout_after(tenant: TenantFixture, seconds: int) -> None:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await order_api.save_settings(
            session, tenant.id, order_api.OrderSettings(payment_timeout_seconds=seconds)
        )


async def _run_jobs(tenant: TenantFixture, after: timedelta) -> int:
    """Run the tenant's jobs due by ``now + after`` (other centers' jobs too)."""
    ran: int = await tenant.runtime.jobs.run_due(now=datetime.now(UTC) + after, tenant_id=tenant.id)
    return ran


async def _job(tenant: TenantFixture, kind: str, order_id: str) -> str | None:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        return await job_status(session, tenant.id, kind, order_id)


async def test_an_unpaid_order_is_cancelled_after_the_tenant_timeout(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await _timeout_after(tenant, 600)
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [3])
    assert await _job(tenant, "order.payment_timeout", order["id"]) == "pending"
    await _run_jobs(tenant, timedelta(minutes=9))
    assert (await read(client, staff, order["id"]) or {})["status"] == "PLACED"
    await _run_jobs(tenant, timedelta(minutes=11))
    assert await _job(tenant, "order.payment_timeout", order["id"]) == "done"
    cancelled = await read(client, staff, order["id"])
    assert cancelled is not None and cancelled["status"] == "CANCELLED"
    assert cancelled["cancelReason"] == "payment timeout"
    assert cancelled["history"][-1]["actor"] == "system:payment-timeout"
    assert await stock_of(client, staff, shop) == {"onHand": 100, "reserved": 0, "available": 100}
    # Fires once: running jobs again changes nothing.
    await _run_jobs(tenant, timedelta(days=1))
    again = await read(client, staff, order["id"])
    assert again is not None and len(again["history"]) == 2


async def test_the_default_timeout_is_fifteen_minutes(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [1])
    await _run_jobs(tenant, timedelta(minutes=14))
    assert (await read(client, staff, order["id"]) or {})["status"] == "PLACED"
    await _run_jobs(tenant, timedelta(minutes=16))
    assert (await read(client, staff, order["id"]) or {})["status"] == "CANCELLED"


async def test_paying_cancels_the_timeout_and_it_never_fires(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [1])
    await pay(tenant, order["id"], order["total"]["amount"])
    assert await _job(tenant, "order.payment_timeout", order["id"]) == "cancelled"
    await _run_jobs(tenant, timedelta(hours=1))
    assert await _job(tenant, "order.payment_timeout", order["id"]) == "cancelled"
    paid = await read(client, staff, order["id"])
    assert paid is not None and paid["status"] == "PAID"
    assert [h["event"] for h in paid["history"]] == ["PLACE", "PAY"]


async def test_a_cancelled_order_drops_its_timeout(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [1])
    await fire(client, staff, order["id"], "CANCEL", reason="changed mind")
    assert await _job(tenant, "order.payment_timeout", order["id"]) == "cancelled"


async def test_cash_on_delivery_has_no_payment_timeout(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [1], order_type="COD")
    assert await _job(tenant, "order.payment_timeout", order["id"]) is None
    await _run_jobs(tenant, timedelta(hours=1))
    assert (await read(client, staff, order["id"]) or {})["status"] == "PLACED"


async def test_a_payment_of_the_wrong_amount_does_not_pay(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [1])
    with pytest.raises(UserInputError) as refused:
        await pay(tenant, order["id"], order["total"]["amount"] - 1)
    assert refused.value.code == "AMOUNT_MISMATCH"
    assert (await read(client, staff, order["id"]) or {})["paid"]["amount"] == 0


async def _pay_or_refusal(tenant: TenantFixture, order: dict[str, object]) -> str:
    total = order["total"]
    assert isinstance(total, dict)
    try:
        await pay(tenant, str(order["id"]), int(total["amount"]))
    except UserInputError as error:
        return error.code
    return "PAID"


async def _assert_settled(
    client: httpx.AsyncClient, token: str, shop: Shop, orders: list[dict[str, object]]
) -> None:
    """Every order is either paid (stock sold) or cancelled (stock back)."""
    sold = 0
    for order in orders:
        final = await read(client, token, str(order["id"]))
        assert final is not None
        if final["status"] == "PAID":
            assert final["paid"]["amount"] == final["total"]["amount"]
            sold += 1
        else:
            assert final["status"] == "CANCELLED" and final["paid"]["amount"] == 0
        assert [h["toStatus"] for h in final["history"]][1:] in (["PAID"], ["CANCELLED"])
    level = await stock_of(client, token, shop)
    assert (level["reserved"], level["onHand"]) == (0, 100 - sold)


async def test_pay_racing_cancel_exactly_one_wins(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    buyer = await tenant.token("customer")
    orders = [await place(client, buyer, shop, [1]) for _ in range(6)]

    async def cancel(order_id: str) -> str:
        payload = await fire(client, buyer, order_id, "CANCEL")
        return "CANCELLED" if not payload["userErrors"] else payload["userErrors"][0]["code"]

    outcomes = await asyncio.gather(
        *(task for o in orders for task in (_pay_or_refusal(tenant, o), cancel(str(o["id"]))))
    )
    for paid, cancelled in zip(outcomes[::2], outcomes[1::2], strict=True):
        assert sorted([paid, cancelled]) in (
            ["INVALID_TRANSITION", "PAID"],
            ["CANCELLED", "INVALID_TRANSITION"],
        )
    await _assert_settled(client, buyer, shop, orders)


async def test_pay_racing_the_timeout_exactly_one_wins(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await _timeout_after(tenant, 60)
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    orders = [await place(client, staff, shop, [1]) for _ in range(6)]
    results = await asyncio.gather(
        _run_jobs(tenant, timedelta(minutes=2)),
        *(_pay_or_refusal(tenant, o) for o in orders),
    )
    payments = results[1:]
    assert set(payments) <= {"PAID", "INVALID_TRANSITION"}
    await _assert_settled(client, staff, shop, orders)
    for order, outcome in zip(orders, payments, strict=True):
        final = await read(client, staff, str(order["id"]))
        assert final is not None
        assert final["status"] == ("PAID" if outcome == "PAID" else "CANCELLED")


async def test_a_received_order_completes_after_the_after_sale_window(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    staff = await tenant.token("cashier")
    buyer = await tenant.token("customer")
    order = await place(client, buyer, shop, [1])
    await pay(tenant, order["id"], order["total"]["amount"])
    assert (await fire(client, staff, order["id"], "SHIP"))["userErrors"] == []
    received = await fire(client, buyer, order["id"], "RECEIVE")
    assert received["order"]["statusViews"]["buyer"] == "TO_REVIEW"
    early = await fire(client, staff, order["id"], "COMPLETE")
    assert [e["code"] for e in early["userErrors"]] == ["AFTER_SALE_WINDOW_OPEN"]
    assert await _job(tenant, "order.complete", order["id"]) == "pending"
    await _run_jobs(tenant, timedelta(days=6))
    assert (await read(client, staff, order["id"]) or {})["status"] == "RECEIVED"
    await _run_jobs(tenant, timedelta(days=7, minutes=1))
    done = await read(client, staff, order["id"])
    assert done is not None and done["status"] == "COMPLETED"
    assert done["history"][-1]["actor"] == "system:after-sale-window"


async def test_the_timeout_job_ignores_an_order_of_another_tenant(
    tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    # The handler runs bound to the job's tenant: an order id of another tenant is
    # simply not found, and the job completes without touching it.
    from centers.order.handlers import payment_timeout

    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await payment_timeout(session, tenant.id, {"order_id": str(uuid.uuid4())})
