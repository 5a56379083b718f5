"""The payment subgraph through the public API and its subgraph endpoint."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any

import httpx
import sqlalchemy as sa

from kernel.db import Database
from tests.conftest import TenantFixture, gql
from tests.sql_statements import count_rows, selects_from

RECORD = """
mutation($input: RecordCashPaymentInput!) {
  recordCashPayment(input: $input) {
    payment { id tender status amount { amount currency } providerReference order { id } }
    userErrors { field message code }
  }
}
"""
ONE = "query($id: ID!) { payment(id: $id) { id tender amount { amount } } }"
ORDER_PAYMENTS = """
query($id: ID!) { payment(id: $id) { order { id payments { id amount { amount } } } } }
"""
ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Payment { id status }
    ... on Order { id payments { id amount { amount } } }
  }
}
"""
SUBGRAPH = "/subgraphs/payment/graphql"


def cash_input(order_id: uuid.UUID | str | None = None, **overrides: Any) -> dict[str, Any]:
    values = {
        "idempotencyKey": f"receipt-{secrets.token_hex(6)}",
        "orderId": str(order_id or uuid.uuid4()),
        "amount": 2550,
    }
    return {"input": {**values, **overrides}}


async def record(
    client: httpx.AsyncClient, token: str, variables: dict[str, Any]
) -> dict[str, Any]:
    body = await gql(client, token, RECORD, variables)
    payload: dict[str, Any] = body["data"]["recordCashPayment"]
    return payload


async def entities(
    client: httpx.AsyncClient, token: str, representations: list[dict[str, str]]
) -> dict[str, Any]:
    return await gql(client, token, ENTITIES, {"representations": representations}, path=SUBGRAPH)


async def payment_count(db: Database, tenant: TenantFixture) -> int:
    return await count_rows(db, "payment.payment", tenant.id)


async def test_cashier_records_a_succeeded_cash_payment(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("cashier")
    order_id = uuid.uuid4()
    payload = await record(client, token, cash_input(order_id))
    assert payload["userErrors"] == []
    payment = payload["payment"]
    assert payment["tender"] == "CASH"
    assert payment["status"] == "SUCCEEDED"
    assert payment["amount"] == {"amount": 2550, "currency": "CNY"}
    assert payment["providerReference"] is None
    assert payment["order"] == {"id": str(order_id)}


async def test_recording_cash_writes_a_payment_succeeded_event(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("store_manager")
    payment_id = (await record(client, token, cash_input(currency="USD")))["payment"]["id"]
    async with db.unit_of_work() as session:
        events = (
            await session.execute(
                sa.text(
                    "SELECT topic, payload FROM kernel.outbox_event"
                    " WHERE tenant_id = :t AND aggregate_id = :a"
                ),
                {"t": tenant.id, "a": payment_id},
            )
        ).all()
    assert [e.topic for e in events] == ["payment.succeeded"]
    assert events[0].payload["tender"] == "CASH"
    assert (events[0].payload["amount"], events[0].payload["currency"]) == (2550, "USD")


async def test_payment_is_read_by_id(client: httpx.AsyncClient, tenant: TenantFixture) -> None:
    cashier = await tenant.token("cashier")
    payment_id = (await record(client, cashier, cash_input()))["payment"]["id"]
    admin = await tenant.token("tenant_admin")
    body = await gql(client, admin, ONE, {"id": payment_id})
    assert body["data"]["payment"] == {
        "id": payment_id,
        "tender": "CASH",
        "amount": {"amount": 2550},
    }


async def test_order_lists_its_payments_oldest_first(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("cashier")
    order_id = uuid.uuid4()
    first = (await record(client, token, cash_input(order_id, amount=1000)))["payment"]["id"]
    second = (await record(client, token, cash_input(order_id, amount=550)))["payment"]["id"]
    await record(client, token, cash_input())  # another order's payment
    body = await gql(client, token, ORDER_PAYMENTS, {"id": second})
    assert body["data"]["payment"]["order"] == {
        "id": str(order_id),
        "payments": [
            {"id": first, "amount": {"amount": 1000}},
            {"id": second, "amount": {"amount": 550}},
        ],
    }


async def test_payments_of_many_orders_load_in_one_query(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("cashier")
    order_ids = [uuid.uuid4() for _ in range(5)]
    for order_id in order_ids:
        await record(client, token, cash_input(order_id))
    representations = [{"__typename": "Order", "id": str(i)} for i in order_ids]
    with selects_from(db, "payment.payment") as selects:
        body = await entities(client, token, representations)
    assert [len(o["payments"]) for o in body["data"]["_entities"]] == [1] * 5
    assert len(selects) == 1


async def test_malformed_order_id_is_invalid_id(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("cashier")
    payload = await record(client, token, cash_input(order_id="order-1"))
    assert payload == {
        "payment": None,
        "userErrors": [
            {
                "field": ["input", "orderId"],
                "message": "'order-1' is not a valid id",
                "code": "INVALID_ID",
            }
        ],
    }
    assert await payment_count(db, tenant) == 0


async def test_zero_or_negative_amount_is_invalid_amount(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("cashier")
    for amount in (0, -100):
        payload = await record(client, token, cash_input(amount=amount))
        assert payload["payment"] is None
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
            ("INVALID_AMOUNT", ["input", "amount"])
        ]
    assert await payment_count(db, tenant) == 0


async def test_malformed_currency_is_invalid_currency(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("cashier")
    payload = await record(client, token, cash_input(currency="yuan"))
    assert payload["payment"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_CURRENCY", ["input", "currency"])
    ]
    assert await payment_count(db, tenant) == 0


async def test_empty_idempotency_key_is_invalid(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("cashier")
    payload = await record(client, token, cash_input(idempotencyKey=""))
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_IDEMPOTENCY_KEY", ["input", "idempotencyKey"])
    ]
    assert await payment_count(db, tenant) == 0


async def test_replay_returns_the_first_payment(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("cashier")
    variables = cash_input()
    first = await record(client, token, variables)
    again = await record(client, token, variables)
    assert again == first
    assert await payment_count(db, tenant) == 1


async def test_reusing_a_key_for_another_amount_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("cashier")
    variables = cash_input()
    await record(client, token, variables)
    changed = {"input": {**variables["input"], "amount": 9999}}
    payload = await record(client, token, changed)
    assert payload["payment"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert await payment_count(db, tenant) == 1


async def test_concurrent_replays_of_one_key_record_one_payment(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("cashier")
    variables = cash_input(idempotencyKey="till-3-receipt-0042")
    results = await asyncio.gather(*(record(client, token, variables) for _ in range(25)))
    assert all(r["userErrors"] == [] for r in results)
    assert len({r["payment"]["id"] for r in results}) == 1
    assert await payment_count(db, tenant) == 1
    async with db.unit_of_work() as session:
        events = await session.scalar(
            sa.text(
                "SELECT count(*) FROM kernel.outbox_event"
                " WHERE tenant_id = :t AND topic = 'payment.succeeded'"
            ),
            {"t": tenant.id},
        )
    assert events == 1


async def test_customer_cannot_record_cash(
    client: httpx.AsyncClient, tenant: TenantFixture, db: Database
) -> None:
    token = await tenant.token("customer")
    denied = await gql(client, token, RECORD, cash_input())
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await payment_count(db, tenant) == 0


async def test_customer_cannot_read_payments(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    order_id = uuid.uuid4()
    payment_id = (await record(client, cashier, cash_input(order_id)))["payment"]["id"]
    customer = await tenant.token("customer")
    by_id = await gql(client, customer, ONE, {"id": payment_id})
    by_order = await entities(client, customer, [{"__typename": "Order", "id": str(order_id)}])
    assert by_id["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert by_order["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert by_id["data"] == {"payment": None}
    assert by_order["data"] is None


async def test_other_tenant_cannot_read_payments(
    client: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    cashier = await tenant.token("cashier")
    order_id = uuid.uuid4()
    payment_id = (await record(client, cashier, cash_input(order_id)))["payment"]["id"]
    intruder = await other_tenant.token("tenant_admin")
    by_id = await gql(client, intruder, ONE, {"id": payment_id})
    referenced = await entities(
        client,
        intruder,
        [{"__typename": "Payment", "id": payment_id}, {"__typename": "Order", "id": str(order_id)}],
    )
    assert by_id["data"]["payment"] is None
    assert referenced["data"]["_entities"] == [None, None]  # neither is theirs


async def test_subgraph_resolves_payment_references(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("cashier")
    payment_id = (await record(client, token, cash_input()))["payment"]["id"]
    body = await entities(client, token, [{"__typename": "Payment", "id": payment_id}])
    assert body["data"]["_entities"] == [{"id": payment_id, "status": "SUCCEEDED"}]
