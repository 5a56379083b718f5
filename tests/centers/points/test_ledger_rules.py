"""Points rules, earning, redemption, expiry and reversal: idempotent by source, the
ledger and the lots always sum to the balance, and concurrent spending never overdraws."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa

from centers.points import api as points_api
from kernel.app import Runtime
from kernel.errors import UserInputError
from tests.centers.promotion.arrange import register
from tests.conftest import TenantFixture, gql

SET_RULES = """
mutation($input: SetPointsRulesInput!) {
  setPointsRules(input: $input) {
    rules { earnPoints earnPerAmount redeemUnitPoints redeemUnitValue redeemMaxBasisPoints expiryDays }
    userErrors { field code }
  }
}
"""
RULES = {
    "earnPoints": 1,
    "earnPerAmount": 100,
    "redeemUnitPoints": 100,
    "redeemUnitValue": 100,
    "redeemMaxBasisPoints": 5000,
}


async def set_rules(client: httpx.AsyncClient, tenant: TenantFixture, **extra: object) -> None:
    admin = await tenant.token("tenant_admin")
    body = await gql(client, admin, SET_RULES, {"input": {**RULES, **extra}})
    assert body["data"]["setPointsRules"]["userErrors"] == [], body


async def balance(tenant: TenantFixture, member: uuid.UUID) -> int:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        return await points_api.get_balance(session, tenant.id, member)


async def invariants(tenant: TenantFixture, member: uuid.UUID) -> None:
    """The entries sum to the balance, and so do the lots' remaining points."""
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        entries = await session.scalar(
            sa.text(
                "SELECT coalesce(sum(delta), 0) FROM points.entry "
                "WHERE tenant_id = :t AND member_id = :m"
            ),
            {"t": tenant.id, "m": member},
        )
        lots = await session.scalar(
            sa.text(
                "SELECT coalesce(sum(remaining), 0) FROM points.lot "
                "WHERE tenant_id = :t AND member_id = :m"
            ),
            {"t": tenant.id, "m": member},
        )
        current = await points_api.get_balance(session, tenant.id, member)
    assert entries == lots == current


async def earn(tenant: TenantFixture, member: uuid.UUID, order: uuid.UUID, paid: int) -> None:
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await points_api.earn_for_order(
            session, tenant.id, member_id=member, order_id=order, amount_paid=paid
        )


async def test_rules_are_set_and_checked_through_the_api(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await set_rules(client, tenant, expiryDays=365)
    admin = await tenant.token("tenant_admin")
    body = await gql(client, admin, "{ pointsRules { earnPoints expiryDays } }")
    assert body["data"]["pointsRules"] == {"earnPoints": 1, "expiryDays": 365}
    bad = await gql(client, admin, SET_RULES, {"input": {**RULES, "redeemMaxBasisPoints": 10001}})
    assert bad["data"]["setPointsRules"]["userErrors"] == [
        {"field": ["input", "redeemMaxBasisPoints"], "code": "INVALID_RULE"}
    ]
    cashier = await tenant.token("cashier")
    denied = await gql(client, cashier, SET_RULES, {"input": RULES})
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_completed_order_earns_once_by_the_rule(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await set_rules(client, tenant)
    member = await register(tenant)
    order = uuid.uuid4()
    await earn(tenant, member, order, 12_345)
    await earn(tenant, member, order, 12_345)
    assert await balance(tenant, member) == 123
    await invariants(tenant, member)


async def test_a_refund_reverses_earned_points_in_proportion_once_per_refund(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await set_rules(client, tenant)
    member = await register(tenant)
    order = uuid.uuid4()
    await earn(tenant, member, order, 10_000)
    for _ in range(2):
        async with tenant.runtime.db.unit_of_work(tenant.id) as session:
            await points_api.reverse_for_refund(
                session,
                tenant.id,
                order_id=order,
                refund_key="r1",
                refunded_amount=2_500,
                paid_amount=10_000,
            )
    assert await balance(tenant, member) == 75
    await invariants(tenant, member)


async def test_a_refused_refund_gives_back_exactly_the_points_it_took_once(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await set_rules(client, tenant)
    member = await register(tenant)
    order = uuid.uuid4()
    await earn(tenant, member, order, 10_000)  # 100 points
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await points_api.reverse_for_refund(
            session,
            tenant.id,
            order_id=order,
            refund_key="r1",
            refunded_amount=3_000,
            paid_amount=10_000,
        )
    assert await balance(tenant, member) == 70
    for _ in range(2):  # the provider's refusal is handled once per refund
        async with tenant.runtime.db.unit_of_work(tenant.id) as session:
            await points_api.undo_refund_reversal(
                session,
                tenant.id,
                order_id=order,
                refund_key="r1",
                failed_key="refund-a",
                failed_amount=3_000,
                paid_amount=10_000,
            )
    assert await balance(tenant, member) == 100
    # A refusal of a request that took nothing (or of an unknown one) gives nothing.
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await points_api.undo_refund_reversal(
            session,
            tenant.id,
            order_id=order,
            refund_key="never-asked",
            failed_key="refund-b",
            failed_amount=3_000,
            paid_amount=10_000,
        )
    assert await balance(tenant, member) == 100
    # The retry takes the same share again: refusal and retry cancel out.
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await points_api.reverse_for_refund(
            session,
            tenant.id,
            order_id=order,
            refund_key="r1:retry",
            refunded_amount=3_000,
            paid_amount=10_000,
        )
    assert await balance(tenant, member) == 70
    await invariants(tenant, member)


async def test_redeemed_points_come_back_to_the_lots_they_came_from(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await set_rules(client, tenant, expiryDays=30)
    member = await register(tenant)
    await earn(tenant, member, uuid.uuid4(), 30_000)  # 300 points, expiring in 30 days
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await points_api.adjust_points(
            session, tenant.id, idempotency_key="gift", member_id=member, delta=200, reason="gift"
        )
        lots_before = (
            await session.execute(
                sa.text(
                    "SELECT entry_id, remaining FROM points.lot WHERE tenant_id = :t ORDER BY 1"
                ),
                {"t": tenant.id},
            )
        ).all()
    order = uuid.uuid4()
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await points_api.redeem_for_order(
            session, tenant.id, member_id=member, order_id=order, points=400
        )
    assert await balance(tenant, member) == 100
    for _ in range(2):
        async with tenant.runtime.db.unit_of_work(tenant.id) as session:
            await points_api.restore_for_order(session, tenant.id, order_id=order)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        lots_after = (
            await session.execute(
                sa.text(
                    "SELECT entry_id, remaining FROM points.lot WHERE tenant_id = :t ORDER BY 1"
                ),
                {"t": tenant.id},
            )
        ).all()
    assert lots_after == lots_before
    assert await balance(tenant, member) == 500
    await invariants(tenant, member)


async def test_points_expire_by_the_daily_job_and_are_never_spent_after(
    client: httpx.AsyncClient, tenant: TenantFixture, runtime: Runtime
) -> None:
    await set_rules(client, tenant, expiryDays=1)
    member = await register(tenant)
    await earn(tenant, member, uuid.uuid4(), 50_000)  # 500 points, expiring tomorrow
    ran = await runtime.jobs.run_due(now=datetime.now(UTC) + timedelta(days=3), tenant_id=tenant.id)
    assert ran >= 2
    assert await balance(tenant, member) == 0
    await invariants(tenant, member)
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        reasons = (
            await session.execute(
                sa.text("SELECT reason, delta FROM points.entry WHERE tenant_id = :t ORDER BY id"),
                {"t": tenant.id},
            )
        ).all()
    assert [tuple(r) for r in reasons] == [
        ("earned on a completed order", 500),
        ("points expired", -500),
    ]


async def test_concurrent_redemptions_never_overdraw(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await set_rules(client, tenant)
    member = await register(tenant)
    await earn(tenant, member, uuid.uuid4(), 100_000)  # 1000 points

    async def redeem() -> str:
        try:
            async with tenant.runtime.db.unit_of_work(tenant.id) as session:
                await points_api.redeem_for_order(
                    session, tenant.id, member_id=member, order_id=uuid.uuid4(), points=300
                )
        except UserInputError as error:
            return error.code
        return "ok"

    results = await asyncio.gather(*(redeem() for _ in range(10)))
    assert results.count("ok") == 3
    assert set(results) == {"ok", "INSUFFICIENT_POINTS"}
    assert await balance(tenant, member) == 100
    await invariants(tenant, member)


async def test_points_given_back_to_an_expired_lot_expire_again(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    await set_rules(client, tenant, expiryDays=1)
    member = await register(tenant)
    await earn(tenant, member, uuid.uuid4(), 50_000)  # 500 points, expiring tomorrow
    order = uuid.uuid4()
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await points_api.redeem_for_order(
            session, tenant.id, member_id=member, order_id=order, points=200
        )
    later = datetime.now(UTC) + timedelta(days=2)
    for _ in range(2):
        async with tenant.runtime.db.unit_of_work(tenant.id) as session:
            await points_api.expire_due(session, tenant.id, later)
    assert await balance(tenant, member) == 0
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        await points_api.restore_for_order(session, tenant.id, order_id=order)
    assert await balance(tenant, member) == 200
    async with tenant.runtime.db.unit_of_work(tenant.id) as session:
        assert await points_api.expire_due(session, tenant.id, later) == 200
    assert await balance(tenant, member) == 0
    await invariants(tenant, member)
