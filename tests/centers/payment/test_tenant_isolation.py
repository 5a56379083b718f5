"""Another brand sees nothing of a brand's payments, refunds, stored value, coupons or
member data: its ids behave exactly like ids that do not exist."""

from __future__ import annotations

import httpx

from tests.centers.payment.arrange import placed_order
from tests.centers.payment.test_order_payment import cash
from tests.centers.payment.test_stored_value import BALANCE, pay, top_up
from tests.centers.promotion.arrange import coupon_template, issue, register
from tests.conftest import TenantFixture, gql


async def test_another_brand_sees_nothing_and_can_spend_nothing(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    admin = await tenant.token("tenant_admin")
    cashier = await tenant.token("cashier")
    intruder = await other_tenant.token("tenant_admin")
    member = await register(tenant)
    await top_up(client, cashier, member, 5000, "t")
    order = await placed_order(tenant)
    await cash(client, cashier, order, 100)
    template = await coupon_template(client, admin)
    await issue(client, admin, template["id"], member)

    assert (await gql(client, intruder, BALANCE, {"m": str(member)}))["data"]["storedValue"] is None
    body = await gql(
        client,
        intruder,
        "query($m: ID!) { memberCoupons(memberId: $m) { edges { node { id } } } "
        "couponTemplates { edges { node { id } } } member(id: $m) { id } }",
        {"m": str(member)},
    )
    assert body["data"] == {
        "memberCoupons": {"edges": []},
        "couponTemplates": {"edges": []},
        "member": None,
    }
    body = await gql(
        client,
        intruder,
        "query($o: ID!) { orderPayment(orderId: $o) { id } }",
        {"o": str(order.order_id)},
    )
    assert body["data"]["orderPayment"] is None
    spent = await pay(client, intruder, order.order_id, member, 100)
    assert spent["userErrors"][0]["code"] == "PAYMENT_NOT_FOUND"
    top = await top_up(client, intruder, member, 100, "steal")
    assert top["userErrors"][0]["code"] == "MEMBER_NOT_FOUND"
    assert (await gql(client, cashier, BALANCE, {"m": str(member)}))["data"]["storedValue"][
        "balance"
    ] == 5000
