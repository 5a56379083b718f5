"""The points center's public contract: the only module other centers may import."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from centers.points import orders, repository, service
from centers.points.dto import PointsEntryInfo, PointsRedemptionTerms, PointsRules

__all__ = [
    "PointsEntryInfo",
    "PointsRedemptionTerms",
    "PointsRules",
    "adjust_points",
    "earn_for_order",
    "expire_due",
    "get_balance",
    "get_balances",
    "redeem_for_order",
    "redemption_terms",
    "refund_tender",
    "restore_for_order",
    "reverse_for_refund",
    "spend_as_tender",
]


async def adjust_points(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    idempotency_key: str,
    member_id: uuid.UUID,
    delta: int,
    reason: str,
) -> PointsEntryInfo:
    """Earn (+) or spend (−) a member's points, idempotent by key: a replay returns the
    first entry. Raises ``UserInputError``: ``INVALID_DELTA``, ``INVALID_REASON``,
    ``MEMBER_NOT_FOUND``, ``INSUFFICIENT_POINTS``, ``BALANCE_LIMIT``,
    ``INVALID_IDEMPOTENCY_KEY``, ``IDEMPOTENCY_KEY_REUSED``."""
    return await service.adjust_points(
        session,
        tenant_id,
        idempotency_key=idempotency_key,
        member_id=member_id,
        delta=delta,
        reason=reason,
    )


async def get_balances(
    session: AsyncSession, tenant_id: uuid.UUID, member_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Points balance of each of the tenant's members among ``member_ids``; 0 for a
    member who never had points (and for ids of other tenants, whose rows stay hidden)."""
    found = await repository.balances(session, tenant_id, member_ids)
    return {member_id: found.get(member_id, 0) for member_id in member_ids}


async def get_balance(session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID) -> int:
    """One member's points balance (0 if none)."""
    return (await get_balances(session, tenant_id, [member_id]))[member_id]


async def redemption_terms(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID
) -> PointsRedemptionTerms | None:
    """The tenant's rate and cap for points as a discount, with the member's balance;
    ``None`` when the tenant takes no points as a discount."""
    return await orders.redemption_terms(session, tenant_id, member_id)


async def redeem_for_order(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    order_id: uuid.UUID,
    points: int,
) -> PointsEntryInfo:
    """Spend ``points`` for ``order_id`` (once per order: a replay returns the first
    entry). Raises ``UserInputError`` ``INSUFFICIENT_POINTS``; concurrent redemptions of
    one member queue on the account and never overdraw it."""
    return await orders.redeem_for_order(
        session, tenant_id, member_id=member_id, order_id=order_id, points=points
    )


async def restore_for_order(
    session: AsyncSession, tenant_id: uuid.UUID, *, order_id: uuid.UUID
) -> PointsEntryInfo | None:
    """Give back what ``order_id`` redeemed (to the lots it came from, with their
    expiry); idempotent; ``None`` when the order redeemed nothing left to give back."""
    return await orders.restore_for_order(session, tenant_id, order_id=order_id)


async def earn_for_order(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    order_id: uuid.UUID,
    amount_paid: int,
) -> PointsEntryInfo | None:
    """Credit the points a completed order earns by the tenant's earn rule (per amount
    paid), once per order; ``None`` when the rule gives nothing."""
    return await orders.earn_for_order(
        session, tenant_id, member_id=member_id, order_id=order_id, amount_paid=amount_paid
    )


async def reverse_for_refund(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    order_id: uuid.UUID,
    refund_key: str,
    refunded_amount: int,
    paid_amount: int,
) -> list[PointsEntryInfo]:
    """On a refund, reverse the order's earned points and give back its redeemed
    points, each in proportion ``refunded_amount / paid_amount``; idempotent by
    ``refund_key``."""
    return await orders.reverse_for_refund(
        session,
        tenant_id,
        order_id=order_id,
        refund_key=refund_key,
        refunded_amount=refunded_amount,
        paid_amount=paid_amount,
    )


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
    """A refund of ``failed_amount`` (part of request ``refund_key``) was refused by
    the provider: undo that share of what ``reverse_for_refund`` did; once per
    ``failed_key``."""
    return await orders.undo_refund_reversal(
        session,
        tenant_id,
        order_id=order_id,
        refund_key=refund_key,
        failed_key=failed_key,
        failed_amount=failed_amount,
        paid_amount=paid_amount,
    )


async def expire_due(session: AsyncSession, tenant_id: uuid.UUID, now: datetime) -> int:
    """Expire the tenant's points lots past their expiry; returns the points expired."""
    return await orders.expire_due(session, tenant_id, now)


async def spend_as_tender(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    payment_id: uuid.UUID,
    points: int,
) -> PointsEntryInfo:
    """Spend points as a tender of payment ``payment_id`` (积分支付), once per payment.
    Raises ``UserInputError`` ``INSUFFICIENT_POINTS``."""
    return await orders.spend_as_tender(
        session, tenant_id, member_id=member_id, payment_id=payment_id, points=points
    )


async def refund_tender(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    payment_id: uuid.UUID,
    refund_id: uuid.UUID,
    points: int,
) -> PointsEntryInfo | None:
    """Give back ``points`` of the points tender ``payment_id`` (to the lots it drew
    from), once per ``refund_id``."""
    return await orders.refund_tender(
        session, tenant_id, payment_id=payment_id, refund_id=refund_id, points=points
    )
