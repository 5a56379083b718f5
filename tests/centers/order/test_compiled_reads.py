"""Compiled order reads answer exactly what field-by-field resolution answers.

Random orders (types, states, amounts, times, texts, lines, discounts, sub-orders,
history) in two stores, read by a tenant admin, a cashier held at one store, a
customer and a caller with no grant, with the compiled path on and off: the same bytes,
and the compiled path really ran (one statement) wherever the caller is cleanly allowed.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from centers.order.machine import MACHINES
from centers.store import api as store_api
from kernel.app import Runtime
from tests.compiled_reads import both_paths
from tests.conftest import TenantFixture, make_tenant

ORDERS_PAGE = """
{ orders(first: 20) { edges { node { id number status placedAt
  payable { amount currency } lines { lineNo skuName quantity payable { amount } } } } } }
"""

ORDERS_FILTERED = """
query Filtered($first: Int!, $after: String, $store: ID, $status: [OrderStatus!],
               $type: OrderType, $channel: String, $buyer: String, $from: DateTime) {
  orders(first: $first, after: $after, storeId: $store, status: $status, type: $type,
         channel: $channel, buyer: $buyer, placedFrom: $from) {
    __typename
    edges { cursor node { __typename id number type channel status total { amount currency }
      store { id } statusViews { buyer merchant erp } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

ORDER_DETAIL = """
query Detail($id: ID!) {
  order(id: $id) {
    ...Head
    listAmount { amount } discount { amount } deliveryFee { amount } deposit { amount }
    paid { amount } refunded { amount currency } pickupCode placedAt statusChangedAt
    cancelledAt cancelReason
    lines { lineNo subOrderNo skuCode skuName quantity sku { id }
      unitPrice { amount currency } amount { amount } discount { amount }
      payable { amount } refunded { amount }
      discounts { source sourceId label amount { amount currency } } }
    subOrders { subOrderNo splitKey store { id } payable { amount } refunded { amount }
      lines { lineNo skuCode } }
    history { at actor event fromStatus toStatus reason }
  }
  again: orderByNumber(number: "no-such-number") { id }
  __typename
}
fragment Head on Order { id number type status buyerView: statusViews { buyer } }
"""

PAYMENTS = """
query Payments($id: ID!) {
  order(id: $id) { number payments { id tender status amount { amount currency }
    providerReference createdAt order { id } __typename } }
}
"""

BY_NUMBER = """
query ByNumber($number: String!) { orderByNumber(number: $number) { id number total { amount } } }
"""

TEXT = st.text(st.characters(blacklist_characters="\x00", codec="utf-8"), max_size=12)
MOMENT = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=0) if t.microsecond % 3 == 0 else t)
AMOUNT = st.integers(min_value=0, max_value=5_000_000)


@st.composite
def orders(draw: st.DrawFn) -> list[dict[str, Any]]:
    found = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        order_type = draw(st.sampled_from(sorted(MACHINES)))
        lines = [
            {
                "sub_no": draw(st.integers(min_value=1, max_value=2)),
                "sku_code": draw(TEXT),
                "sku_name": draw(TEXT),
                "unit": draw(AMOUNT),
                "quantity": draw(st.integers(min_value=1, max_value=9)),
                "discount": draw(AMOUNT),
                "refunded": draw(AMOUNT),
                "discounts": draw(
                    st.lists(
                        st.tuples(
                            st.sampled_from(["PROMOTION", "COUPON", "MEMBER", "POINTS"]),
                            st.none() | st.uuids(),
                            TEXT,
                            AMOUNT,
                        ),
                        max_size=2,
                    )
                ),
            }
            for _ in range(draw(st.integers(min_value=0, max_value=4)))
        ]
        found.append(
            {
                "id": draw(st.uuids()),
                "store": draw(st.integers(min_value=0, max_value=1)),
                "buyer": draw(st.sampled_from(["user:alice", "user:bob"])),
                "type": order_type,
                "status": draw(st.sampled_from(sorted(MACHINES[order_type].states))),
                "channel": draw(st.sampled_from(["POS", "MINI_PROGRAM", "APP"])),
                "currency": draw(st.sampled_from(["CNY", "USD"])),
                "amounts": draw(st.lists(AMOUNT, min_size=7, max_size=7)),
                "pickup_code": draw(st.none() | TEXT),
                "placed_at": draw(MOMENT),
                "changed_at": draw(st.none() | MOMENT),
                "cancelled_at": draw(st.none() | MOMENT),
                "cancel_reason": draw(st.none() | TEXT),
                "lines": lines,
                "history": draw(st.lists(st.tuples(MOMENT, TEXT, TEXT, TEXT), max_size=3)),
                "payments": draw(
                    st.lists(
                        st.tuples(
                            st.uuids(),
                            st.sampled_from(["ONLINE", "CASH", "POINTS", "STORED_VALUE"]),
                            st.sampled_from(["PENDING", "SUCCEEDED", "FAILED", "REFUNDED"]),
                            AMOUNT,
                            st.none() | TEXT,
                            MOMENT,
                        ),
                        max_size=2,
                        unique_by=lambda p: p[0],
                    )
                ),
            }
        )
    return found


async def _seed(
    runtime: Runtime, tenant: uuid.UUID, stores: list[uuid.UUID], data: list[Any]
) -> None:
    async with runtime.db.unit_of_work(tenant) as session:
        for n, order in enumerate(data):
            amounts = order["amounts"]
            await session.execute(
                sa.text(
                    'INSERT INTO "order".trade_order (tenant_id, id, number, store_id, '
                    "buyer_subject, order_type, channel, status, currency, list_amount, "
                    "discount_amount, delivery_fee, total_amount, deposit_amount, paid_amount, "
                    "refunded_amount, pickup_code, placed_at, status_changed_at, cancelled_at, "
                    "cancel_reason) VALUES (:t, :id, :number, :store, :buyer, :type, :channel, "
                    ":status, :currency, :a0, :a1, :a2, :a3, :a4, :a5, :a6, :pickup, :placed, "
                    ":changed, :cancelled, :reason)"
                ),
                {
                    "t": tenant,
                    "id": order["id"],
                    "number": f"N{n}-{secrets.token_hex(3)}",
                    "store": stores[order["store"]],
                    "buyer": order["buyer"],
                    "type": order["type"],
                    "channel": order["channel"],
                    "status": order["status"],
                    "currency": order["currency"],
                    **{f"a{i}": a for i, a in enumerate(amounts)},
                    "pickup": order["pickup_code"],
                    "placed": order["placed_at"],
                    "changed": order["changed_at"],
                    "cancelled": order["cancelled_at"],
                    "reason": order["cancel_reason"],
                },
            )
            for sub_no in sorted({line["sub_no"] for line in order["lines"]}):
                await session.execute(
                    sa.text(
                        'INSERT INTO "order".sub_order (tenant_id, order_id, sub_no, split_key, '
                        "store_id, list_amount, discount_amount, delivery_fee, payable_amount, "
                        "refunded_amount) VALUES (:t, :o, :s, :k, :store, 10, 1, 0, 9, 0)"
                    ),
                    {
                        "t": tenant,
                        "o": order["id"],
                        "s": sub_no,
                        "k": f"split {sub_no}",
                        "store": stores[order["store"]],
                    },
                )
            for line_no, line in enumerate(order["lines"], start=1):
                await session.execute(
                    sa.text(
                        'INSERT INTO "order".order_line (tenant_id, order_id, line_no, sub_no, '
                        "sku_id, sku_code, sku_name, unit_price_amount, quantity, line_amount, "
                        "discount_amount, payable_amount, refunded_amount) VALUES (:t, :o, :n, "
                        ":sub, :sku, :code, :name, :unit, :q, :amount, :discount, :payable, "
                        ":refunded)"
                    ),
                    {
                        "t": tenant,
                        "o": order["id"],
                        "n": line_no,
                        "sub": line["sub_no"],
                        "sku": uuid.uuid4(),
                        "code": line["sku_code"],
                        "name": line["sku_name"],
                        "unit": line["unit"],
                        "q": line["quantity"],
                        "amount": line["unit"] * line["quantity"],
                        "discount": line["discount"],
                        "payable": line["unit"] * line["quantity"] - line["discount"],
                        "refunded": line["refunded"],
                    },
                )
                for seq, (source, source_id, label, amount) in enumerate(line["discounts"]):
                    await session.execute(
                        sa.text(
                            'INSERT INTO "order".order_line_discount (tenant_id, order_id, '
                            "line_no, seq, source, source_id, label, amount) VALUES (:t, :o, :n, "
                            ":seq, :source, :sid, :label, :amount)"
                        ),
                        {
                            "t": tenant,
                            "o": order["id"],
                            "n": line_no,
                            "seq": seq,
                            "source": source,
                            "sid": source_id,
                            "label": label,
                            "amount": amount,
                        },
                    )
            for seq, (at, actor, reason, from_status) in enumerate(order["history"]):
                await session.execute(
                    sa.text(
                        'INSERT INTO "order".order_history (tenant_id, order_id, seq, at, actor, '
                        "event, from_status, to_status, reason) VALUES (:t, :o, :seq, :at, :actor, "
                        "'PAY', :from, :to, :reason)"
                    ),
                    {
                        "t": tenant,
                        "o": order["id"],
                        "seq": seq,
                        "at": at,
                        "actor": actor,
                        "from": from_status or None,
                        "to": order["status"],
                        "reason": reason,
                    },
                )
            for payment_id, tender, status, amount, reference, at in order["payments"]:
                await session.execute(
                    sa.text(
                        'INSERT INTO "payment".payment (tenant_id, id, order_id, tender, amount, '
                        "currency, status, provider_reference, created_at, store_id) VALUES (:t, "
                        ":id, :o, :tender, :amount, :currency, :status, :reference, :at, :store)"
                    ),
                    {
                        "t": tenant,
                        "id": payment_id,
                        "o": order["id"],
                        "tender": tender,
                        "amount": amount + 1,
                        "currency": order["currency"],
                        "status": status,
                        "reference": reference,
                        "at": at,
                        "store": stores[order["store"]],
                    },
                )


async def _callers(tenant: TenantFixture, stores: list[uuid.UUID]) -> dict[str, str]:
    return {
        "tenant_admin": await tenant.token("tenant_admin"),
        "cashier_at_store": await tenant.store_token("cashier", stores[0]),
        "customer": await tenant.token("customer", sub="alice"),
        "no_grant": await tenant.token(None),
    }


async def _stores(tenant: TenantFixture) -> list[uuid.UUID]:
    async with tenant.runtime.db.unit_of_work() as session:
        return [
            (
                await store_api.create_store(
                    session,
                    tenant.id,
                    code=f"S{n}-{secrets.token_hex(3)}",
                    name=f"Store {n}",
                    timezone="Asia/Shanghai",
                )
            ).id
            for n in range(2)
        ]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=orders(), first=st.integers(min_value=1, max_value=5), pick=st.randoms())
async def test_order_reads_answer_the_same_bytes_on_both_paths(
    client: httpx.AsyncClient, runtime: Runtime, data: list[Any], first: int, pick: Any
) -> None:
    tenant = await make_tenant(runtime, runtime.settings)
    stores = await _stores(tenant)
    await _seed(runtime, tenant.id, stores, data)
    callers = await _callers(tenant, stores)
    cutoff = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=pick.randint(0, 900))
    for role, token in callers.items():
        allowed = role != "no_grant"
        answer = await both_paths(client, runtime, token, ORDERS_PAGE)
        assert answer.compiled == allowed, role
        # Every page of a filtered walk, following the cursors the compiled path gave.
        after = None
        for _ in range(4):
            variables = {
                "first": first,
                "after": after,
                "store": str(stores[pick.randint(0, 1)]) if pick.random() < 0.3 else None,
                "status": pick.sample(["PAID", "PLACED", "CANCELLED"], 2)
                if pick.random() < 0.3
                else None,
                "type": pick.choice(sorted(MACHINES)) if pick.random() < 0.2 else None,
                "channel": "POS" if pick.random() < 0.2 else None,
                "buyer": "user:bob" if pick.random() < 0.2 else None,
                "from": cutoff.isoformat() if pick.random() < 0.2 else None,
            }
            answer = await both_paths(client, runtime, token, ORDERS_FILTERED, variables)
            assert answer.compiled == allowed, role
            if not allowed:
                break

            page = json.loads(answer.body)["data"]["orders"]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        for order in data[:3]:
            answer = await both_paths(
                client, runtime, token, ORDER_DETAIL, {"id": str(order["id"])}
            )
            assert answer.compiled == allowed, role
            # Order.payments compiles for a tenant-wide READ_PAYMENT only.
            answer = await both_paths(client, runtime, token, PAYMENTS, {"id": str(order["id"])})
            assert answer.compiled == (role == "tenant_admin"), role
    admin = callers["tenant_admin"]
    for variables in ({"id": "not-an-id"}, {"id": str(uuid.uuid4())}):
        assert (await both_paths(client, runtime, admin, ORDER_DETAIL, variables)).compiled
