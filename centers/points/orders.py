"""Points and orders: redeem as a discount, give back on cancel, earn on completion,
reverse in proportion on refund. Each is idempotent by its source (the order, the refund).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from centers.points import ledger, repository
from centers.points.dto import PointsEntryInfo, PointsRedemptionTerms, PointsRules
from kernel.errors import UserInputError
from kernel.jobs import schedule_job

MAX_RULE_VALUE = 1_000_000_000


def _rules(row: RowMapping) -> PointsRules:
    return PointsRules(
        earn_points=row["earn_points"],
        earn_per_amount=row["earn_per_amount"],
        redeem_unit_points=row["redeem_unit_points"],
        redeem_unit_value=row["redeem_unit_value"],
        redeem_max_bp=row["redeem_max_bp"],
        expiry_days=row["expiry_days"],
    )


async def rules_of(session: AsyncSession, tenant_id: uuid.UUID) -> PointsRules | None:
    row = await repository.rule_of(session, tenant_id)
    return _rules(row) if row is not None else None


async def set_rules(session: AsyncSession, tenant_id: uuid.UUID, rules: PointsRules) -> PointsRules:
    checks = (
        ("earnPoints", rules.earn_points, 0),
        ("earnPerAmount", rules.earn_per_amount, 1),
        ("redeemUnitPoints", rules.redeem_unit_points, 1),
        ("redeemUnitValue", rules.redeem_unit_value, 1),
        ("redeemMaxBasisPoints", rules.redeem_max_bp, 0),
    )
    for name, value, least in checks:
        if not least <= value <= MAX_RULE_VALUE:
            raise UserInputError(
                f"{name} must be between {least} and {MAX_RULE_VALUE}",
                code="INVALID_RULE",
                field=["input", name],
            )
    if rules.redeem_max_bp > 10_000:
        raise UserInputError(
            "redeemMaxBasisPoints is at most 10000 (the whole payable)",
            code="INVALID_RULE",
            field=["input", "redeemMaxBasisPoints"],
        )
    if rules.expiry_days is not None and not 1 <= rules.expiry_days <= 36_500:
        raise UserInputError(
            "expiryDays must be between 1 and 36500, or null for never",
            code="INVALID_RULE",
            field=["input", "expiryDays"],
        )
    await repository.save_rule(
        session,
        {
            "tenant_id": tenant_id,
            "earn_points": rules.earn_points,
            "earn_per_amount": rules.earn_per_amount,
            "redeem_unit_points": rules.redeem_unit_points,
            "redeem_unit_value": rules.redeem_unit_value,
            "redeem_max_bp": rules.redeem_max_bp,
            "expiry_days": rules.expiry_days,
            "updated_at": datetime.now(UTC),
        },
    )
    if rules.expiry_days:
        await schedule_expiry(session, tenant_id, datetime.now(UTC))
    return rules


async def redemption_terms(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID
) -> PointsRedemptionTerms | None:
    rules = await rules_of(session, tenant_id)
    if rules is None or rules.redeem_max_bp == 0:
        return None
    balances = await repository.balances(session, tenant_id, [member_id])
    return PointsRedemptionTerms(
        unit_points=rules.redeem_unit_points,
        unit_value=rules.redeem_unit_value,
        max_bp=rules.redeem_max_bp,
        balance=balances.get(member_id, 0),
    )


async def redeem_for_order(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    order_id: uuid.UUID,
    points: int,
) -> PointsEntryInfo:
    change = await ledger.debit(
        session,
        tenant_id,
        member_id=member_id,
        points=points,
        reason="redeemed on an order",
        source_key=f"order-redeem:{order_id}",
    )
    return change.entry


async def restore_for_order(
    session: AsyncSession, tenant_id: uuid.UUID, *, order_id: uuid.UUID
) -> PointsEntryInfo | None:
    """Give back what the order redeemed and was not given back yet, to its lots."""
    spent = await repository.entry_by_source(session, tenant_id, f"order-redeem:{order_id}")
    if spent is None:
        return None
    change = await ledger.refill(
        session,
        tenant_id,
        spending=spent,
        reason="order cancelled: redeemed points returned",
        source_key=f"order-restore:{order_id}",
    )
    return change.entry if change else None


async def earn_for_order(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    order_id: uuid.UUID,
    amount_paid: int,
) -> PointsEntryInfo | None:
    """Earn points for what the member paid on a completed order; once per order."""
    rules = await rules_of(session, tenant_id)
    if rules is None or rules.earn_points == 0 or amount_paid <= 0:
        return None
    points = amount_paid // rules.earn_per_amount * rules.earn_points
    if points <= 0:
        return None
    change = await ledger.credit(
        session,
        tenant_id,
        member_id=member_id,
        points=points,
        reason="earned on a completed order",
        source_key=f"order-earn:{order_id}",
        expires_at=ledger.expiry_for(rules.expiry_days, datetime.now(UTC)),
    )
    return change.entry


async def reverse_for_refund(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    refund_key: str,
    refunded_amount: int,
    paid_amount: int,
) -> list[PointsEntryInfo]:
    """On a refund of ``refunded_amount`` out of ``paid_amount``: take back that share of
    the points the order earned (as far as the balance allows) and give back that share
    of the points it redeemed. Rounded down per refund, and the last refund (which
    brings the refunded total to the paid amount) settles the remainder."""
    if paid_amount <= 0 or refunded_amount <= 0:
        return []
    done: list[PointsEntryInfo] = []
    earned = await repository.entry_by_source(session, tenant_id, f"order-earn:{order_id}")
    if earned is not None:
        share = earned.delta * min(refunded_amount, paid_amount) // paid_amount
        if share > 0:
            balances = await repository.balances(session, tenant_id, [earned.member_id])
            # Points already spent cannot be clawed back below zero; take what is there.
            take = min(share, balances.get(earned.member_id, 0))
            if take > 0:
                change = await ledger.debit(
                    session,
                    tenant_id,
                    member_id=earned.member_id,
                    points=take,
                    reason="order refunded: earned points reversed",
                    source_key=f"refund-earn:{order_id}:{refund_key}",
                )
                done.append(change.entry)
    spent = await repository.entry_by_source(session, tenant_id, f"order-redeem:{order_id}")
    if spent is not None:
        share = -spent.delta * min(refunded_amount, paid_amount) // paid_amount
        if share > 0:
            change_back = await ledger.refill(
                session,
                tenant_id,
                spending=spent,
                reason="order refunded: redeemed points returned",
                source_key=f"refund-redeem:{order_id}:{refund_key}",
                points=share,
            )
            if change_back is not None:
                done.append(change_back.entry)
    return done


async def undo_refund_reversal(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    refund_key: str,
    failed_key: str,
    failed_amount: int,
    paid_amount: int,
) -> list[PointsEntryInfo]:
    """A refund the provider refused: give back that share of the earned points the
    refund request ``refund_key`` took (never more than it took), and take back that
    share of the redeemed points it returned (as far as the balance allows). The same
    formula as ``reverse_for_refund``, so a refusal and a successful retry cancel out.
    Once per ``failed_key``."""
    if paid_amount <= 0 or failed_amount <= 0:
        return []
    done: list[PointsEntryInfo] = []
    share_of = min(failed_amount, paid_amount)
    earned = await repository.entry_by_source(session, tenant_id, f"order-earn:{order_id}")
    taken = await repository.entry_by_source(
        session, tenant_id, f"refund-earn:{order_id}:{refund_key}"
    )
    if earned is not None and taken is not None:
        give = min(earned.delta * share_of // paid_amount, -taken.delta)
        if give > 0:
            rules = await rules_of(session, tenant_id)
            change = await ledger.credit(
                session,
                tenant_id,
                member_id=earned.member_id,
                points=give,
                reason="refund refused: reversed points returned",
                source_key=f"refund-failed-earn:{order_id}:{failed_key}",
                expires_at=ledger.expiry_for(
                    rules.expiry_days if rules else None, datetime.now(UTC)
                ),
            )
            done.append(change.entry)
    spent = await repository.entry_by_source(session, tenant_id, f"order-redeem:{order_id}")
    returned = await repository.entry_by_source(
        session, tenant_id, f"refund-redeem:{order_id}:{refund_key}"
    )
    if spent is not None and returned is not None:
        share = min(-spent.delta * share_of // paid_amount, returned.delta)
        balances = await repository.balances(session, tenant_id, [spent.member_id])
        take = min(share, balances.get(spent.member_id, 0))
        if take > 0:
            debited = await ledger.debit(
                session,
                tenant_id,
                member_id=spent.member_id,
                points=take,
                reason="refund refused: returned points taken back",
                source_key=f"refund-failed-redeem:{order_id}:{failed_key}",
            )
            done.append(debited.entry)
    return done


async def expire_due(session: AsyncSession, tenant_id: uuid.UUID, now: datetime) -> int:
    return await ledger.expire_due(session, tenant_id, now)


async def spend_as_tender(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    payment_id: uuid.UUID,
    points: int,
) -> PointsEntryInfo:
    """Points paying part of an order (积分支付), once per payment."""
    change = await ledger.debit(
        session,
        tenant_id,
        member_id=member_id,
        points=points,
        reason="paid an order with points",
        source_key=f"payment:{payment_id}",
    )
    return change.entry


async def refund_tender(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    payment_id: uuid.UUID,
    refund_id: uuid.UUID,
    points: int,
) -> PointsEntryInfo | None:
    """Give back ``points`` of a points payment, to the lots it drew; once per refund."""
    spent = await repository.entry_by_source(session, tenant_id, f"payment:{payment_id}")
    if spent is None:
        return None
    change = await ledger.refill(
        session,
        tenant_id,
        spending=spent,
        reason="points payment refunded",
        source_key=f"payment-refund:{refund_id}",
        points=points,
    )
    return change.entry if change else None


EXPIRY_JOB = "points.expire"


def _next_midnight(after: datetime) -> datetime:
    day = after.astimezone(UTC).date() + timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=UTC)


async def schedule_expiry(session: AsyncSession, tenant_id: uuid.UUID, after: datetime) -> None:
    """The daily expiry sweep (UTC midnight), one durable job per day."""
    due = _next_midnight(after)
    await schedule_job(
        session, tenant_id, EXPIRY_JOB, due.date().isoformat(), due, {"due_at": due.isoformat()}
    )


async def expiry_job(
    session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]
) -> None:
    """Expire what is due by the job's time, then schedule tomorrow's sweep while the
    tenant's points still expire."""
    due = datetime.fromisoformat(str(payload["due_at"]))
    await ledger.expire_due(session, tenant_id, due)
    rules = await rules_of(session, tenant_id)
    if rules is not None and rules.expiry_days:
        await schedule_expiry(session, tenant_id, due)
