"""Amounts at every level: parts always sum to the whole (hypothesis), and the API
shows the same figures on the order, its sub-orders and its lines."""

from __future__ import annotations

import uuid

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from centers.order import amounts
from centers.order import api as order_api
from tests.builders import open_shop
from tests.centers.order.flows import place, read
from tests.conftest import TenantFixture

STORES = [uuid.UUID(int=i) for i in range(1, 4)]
SOURCES = ("PROMOTION", "COUPON", "MEMBER", "POINTS")


@st.composite
def orders(draw: st.DrawFn) -> tuple[list[amounts.DraftLine], list[amounts.Allocation]]:
    lines = draw(
        st.lists(
            st.builds(
                lambda price, qty, store: amounts.DraftLine(
                    unit_price=price, quantity=qty, split_key=f"store:{store}", store_id=store
                ),
                st.integers(0, 100_000),
                st.integers(1, 50),
                st.sampled_from(STORES),
            ),
            min_size=1,
            max_size=12,
        )
    )
    allocations: list[amounts.Allocation] = []
    # Each discount of a source is spread over the lines by largest remainder, never
    # past what is left of a line (as the pricing engine does).
    left = [line.unit_price * line.quantity for line in lines]
    for source in draw(st.lists(st.sampled_from(SOURCES), max_size=4)):
        total = draw(st.integers(0, sum(left)))
        for index, part in enumerate(amounts.allocate_refund(total, left)):
            if part > 0:
                allocations.append(amounts.Allocation(index, source, None, source, part))
                left[index] -= part
    return lines, allocations


@settings(max_examples=50, deadline=None)
@given(orders(), st.integers(0, 2_000), st.none() | st.integers(0, 500_000))
def test_parts_sum_to_the_whole(
    drawn: tuple[list[amounts.DraftLine], list[amounts.Allocation]],
    fee: int,
    free_from: int | None,
) -> None:
    lines, allocations = drawn
    result = amounts.compute(lines, allocations, amounts.DeliveryRule(fee, free_from))
    for line, computed in zip(lines, result.lines, strict=True):
        assert computed.list_amount == line.unit_price * line.quantity
        assert computed.payable_amount == computed.list_amount - computed.discount_amount >= 0
    assert sum(a.amount for a in allocations) == result.discount_amount
    for sub in result.sub_orders:
        members = [result.lines[i] for i in sub.line_indexes]
        assert sub.list_amount == sum(m.list_amount for m in members)
        assert sub.discount_amount == sum(m.discount_amount for m in members)
        assert sub.payable_amount == sub.list_amount - sub.discount_amount + sub.delivery_fee
        assert {lines[i].split_key for i in sub.line_indexes} == {sub.split_key}
    assert sorted(i for s in result.sub_orders for i in s.line_indexes) == list(range(len(lines)))
    assert result.list_amount == sum(r.list_amount for r in result.lines)
    assert result.delivery_fee == sum(s.delivery_fee for s in result.sub_orders)
    assert result.payable_amount == (
        result.list_amount - result.discount_amount + result.delivery_fee
    )
    assert len(result.sub_orders) == len({line.split_key for line in lines})


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 100_000), min_size=1, max_size=12), st.data())
def test_a_refund_spreads_over_lines_without_exceeding_any(
    refundable: list[int], data: st.DataObject
) -> None:
    amount = data.draw(st.integers(0, sum(refundable)))
    parts = amounts.allocate_refund(amount, refundable)
    assert sum(parts) == amount
    assert all(0 <= part <= cap for part, cap in zip(parts, refundable, strict=True))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**9), st.integers(1, 100))
def test_the_deposit_never_exceeds_the_payable(payable: int, percent: int) -> None:
    assert 0 <= amounts.deposit(payable, percent) <= payable


def test_a_discount_larger_than_its_line_is_refused() -> None:
    line = amounts.DraftLine(unit_price=100, quantity=1, split_key="s", store_id=STORES[0])
    try:
        amounts.compute([line], [amounts.Allocation(0, "COUPON", None, "x", 101)], None)
    except ValueError:
        return
    raise AssertionError("a line discounted below zero was accepted")


async def test_the_api_shows_amounts_at_every_level(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, prices=(1200, 800, 350))
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await order_api.save_settings(
            session, tenant.id, order_api.OrderSettings(delivery_fee=600, free_delivery_from=10_000)
        )
    staff = await tenant.token("cashier")
    shipped = await place(client, staff, shop, [2, 1, 3])
    found = await read(client, staff, shipped["id"])
    assert found is not None
    goods = 2 * 1200 + 800 + 3 * 350
    assert found["listAmount"]["amount"] == goods
    assert found["deliveryFee"]["amount"] == 600
    assert found["payable"]["amount"] == found["total"]["amount"] == goods + 600
    [sub] = found["subOrders"]
    assert sub["splitKey"] == f"store:{shop.store_id}"
    assert sub["payable"]["amount"] == goods + 600
    assert [line["lineNo"] for line in sub["lines"]] == [1, 2, 3]
    assert sum(line["payable"]["amount"] for line in found["lines"]) == goods
    # Dine-in orders do not ship: no delivery fee; a big order ships free.
    dine_in = await place(client, staff, shop, [1], order_type="DINE_IN")
    assert dine_in["deliveryFee"]["amount"] == 0
    big = await place(client, staff, shop, [9])
    assert big["deliveryFee"]["amount"] == 0 and big["payable"]["amount"] == 9 * 1200


async def test_a_presale_order_owes_its_deposit_first(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant, prices=(1999,))
    staff = await tenant.token("cashier")
    order = await place(client, staff, shop, [1], order_type="PRESALE")
    assert order["deposit"]["amount"] == 1999 * 20 // 100
    assert order["statusViews"]["buyer"] == "TO_PAY_DEPOSIT"
