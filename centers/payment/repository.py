"""Every query of the payment center; tenant scoping lives here and only here."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from centers.payment.dto import (
    OrderPaymentInfo,
    OrderPaymentStatus,
    PaymentInfo,
    PaymentStatus,
    PaymentTender,
    ReconciliationRow,
    RefundInfo,
    RefundStatus,
    StoredValueEntryInfo,
)
from centers.payment.models import (
    OrderPayment,
    Payment,
    ProviderAccount,
    ProviderNotification,
    Refund,
    RefundLine,
    StoredValueAccount,
    StoredValueEntry,
)
from kernel.batch import Batch
from kernel.db import table_of
from kernel.ids import new_id
from kernel.money import Money

payment = table_of(Payment)

_payment_columns = (
    payment.c.id,
    payment.c.tenant_id,
    payment.c.order_id,
    payment.c.tender,
    payment.c.amount,
    payment.c.currency,
    payment.c.status,
    payment.c.provider_reference,
    payment.c.created_at,
    payment.c.provider,
    payment.c.store_id,
    payment.c.captured_at,
    payment.c.refunded_amount,
    payment.c.member_id,
    payment.c.points,
)


def _payment(row: sa.RowMapping) -> PaymentInfo:
    return PaymentInfo(
        id=row["id"],
        tenant_id=row["tenant_id"],
        order_id=row["order_id"],
        tender=PaymentTender(row["tender"]),
        amount=Money(row["amount"], row["currency"]),
        status=PaymentStatus(row["status"]),
        provider_reference=row["provider_reference"],
        created_at=row["created_at"],
        provider=row["provider"],
        store_id=row["store_id"],
        captured_at=row["captured_at"],
        refunded_amount=row["refunded_amount"],
        member_id=row["member_id"],
        points=row["points"],
    )


async def insert_payment(session: AsyncSession, value: PaymentInfo) -> None:
    await session.execute(
        payment.insert().values(
            tenant_id=value.tenant_id,
            id=value.id,
            order_id=value.order_id,
            tender=value.tender.value,
            amount=value.amount.amount,
            currency=value.amount.currency,
            status=value.status.value,
            provider_reference=value.provider_reference,
            created_at=value.created_at,
            provider=value.provider,
            store_id=value.store_id,
            captured_at=value.captured_at,
            refunded_amount=value.refunded_amount,
            member_id=value.member_id,
            points=value.points,
        )
    )


async def payments_by_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[PaymentInfo]:
    if not ids:
        return []
    rows = await session.execute(
        sa.select(*_payment_columns).where(payment.c.tenant_id == tenant_id, payment.c.id.in_(ids))
    )
    return [_payment(row) for row in rows.mappings().all()]


async def payments_by_order_ids(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[PaymentInfo]]:
    """Each order id with its payments, oldest first (``[]`` if none or another tenant's).

    Unpaged on purpose: an order has a handful of payments (one per tender) at most.
    """
    found: dict[uuid.UUID, list[PaymentInfo]] = {i: [] for i in order_ids}
    if not order_ids:
        return found
    rows = await session.execute(
        sa.select(*_payment_columns)
        .where(payment.c.tenant_id == tenant_id, payment.c.order_id.in_(order_ids))
        .order_by(payment.c.order_id, payment.c.id)
    )
    for row in rows.mappings().all():
        value = _payment(row)
        found[value.order_id].append(value)
    return found


# --- Order payments ------------------------------------------------------------------

order_payment = table_of(OrderPayment)
refund = table_of(Refund)
refund_line = table_of(RefundLine)
notification = table_of(ProviderNotification)
provider_account = table_of(ProviderAccount)


def _order_payment(row: sa.RowMapping) -> OrderPaymentInfo:
    return OrderPaymentInfo(
        id=row["id"],
        order_id=row["order_id"],
        store_id=row["store_id"],
        member_id=row["member_id"],
        amount=Money(row["amount"], row["currency"]),
        paid_amount=row["paid_amount"],
        refunded_amount=row["refunded_amount"],
        status=OrderPaymentStatus(row["status"]),
        line_amounts={uuid.UUID(k): int(v) for k, v in (row["line_amounts"] or {}).items()},
        created_at=row["created_at"],
        paid_at=row["paid_at"],
        closed_at=row["closed_at"],
        deposit_amount=row["deposit_amount"],
        balance_from=row["balance_from"],
    )


# Opened for every order placed: built once, its SQL compiled once.
_INSERT_ORDER_PAYMENT = (
    insert(order_payment)
    .values(
        {
            name: sa.bindparam(name, type_=order_payment.c[name].type)
            for name in (
                "tenant_id",
                "order_id",
                "id",
                "store_id",
                "member_id",
                "amount",
                "currency",
                "paid_amount",
                "refunded_amount",
                "status",
                "line_amounts",
                "created_at",
                "deposit_amount",
                "balance_from",
            )
        }
    )
    .on_conflict_do_nothing()
    .returning(order_payment.c.id)
)


async def insert_order_payment(
    session: AsyncSession, tenant_id: uuid.UUID, value: OrderPaymentInfo
) -> bool:
    written = await session.scalar(
        _INSERT_ORDER_PAYMENT,
        {
            "tenant_id": tenant_id,
            "order_id": value.order_id,
            "id": value.id,
            "store_id": value.store_id,
            "member_id": value.member_id,
            "amount": value.amount.amount,
            "currency": value.amount.currency,
            "paid_amount": 0,
            "refunded_amount": 0,
            "status": value.status.value,
            "line_amounts": {str(k): v for k, v in value.line_amounts.items()},
            "created_at": value.created_at,
            "deposit_amount": value.deposit_amount,
            "balance_from": value.balance_from,
        },
    )
    return written is not None


def add_order_payment(
    batch: Batch, tenant_id: uuid.UUID, value: OrderPaymentInfo, *, when: str
) -> None:
    """``insert_order_payment`` as a part of ``batch`` (written if ``when`` holds)."""
    batch.add(
        "order_payment",
        f"""INSERT INTO payment.order_payment
          (tenant_id, order_id, id, store_id, member_id, amount, currency, paid_amount,
           refunded_amount, status, line_amounts, created_at, deposit_amount, balance_from)
        SELECT {batch.arg(tenant_id, "uuid")}, {batch.arg(value.order_id, "uuid")},
          {batch.arg(value.id, "uuid")}, {batch.arg(value.store_id, "uuid")},
          {batch.arg(value.member_id, "uuid")}, {batch.arg(value.amount.amount, "bigint")},
          {batch.arg(value.amount.currency, "text")}, 0, 0,
          {batch.arg(value.status.value, "text")},
          {batch.arg(json.dumps({str(k): v for k, v in value.line_amounts.items()}), "jsonb")},
          {batch.arg(value.created_at, "timestamptz")},
          {batch.arg(value.deposit_amount, "bigint")},
          {batch.arg(value.balance_from, "timestamptz")}
        WHERE {when}""",
    )


async def order_payment_of(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, *, lock: bool = False
) -> OrderPaymentInfo | None:
    query = sa.select(*order_payment.c).where(
        order_payment.c.tenant_id == tenant_id, order_payment.c.order_id == order_id
    )
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return _order_payment(row) if row else None


async def order_payments_of(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> list[OrderPaymentInfo]:
    if not order_ids:
        return []
    rows = await session.execute(
        sa.select(*order_payment.c).where(
            order_payment.c.tenant_id == tenant_id, order_payment.c.order_id.in_(list(order_ids))
        )
    )
    return [_order_payment(row) for row in rows.mappings().all()]


async def update_order_payment(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, **values: object
) -> None:
    await session.execute(
        order_payment.update()
        .where(order_payment.c.tenant_id == tenant_id, order_payment.c.order_id == order_id)
        .values(**values)
    )


async def update_payment(
    session: AsyncSession, tenant_id: uuid.UUID, payment_id: uuid.UUID, **values: object
) -> None:
    await session.execute(
        payment.update()
        .where(payment.c.tenant_id == tenant_id, payment.c.id == payment_id)
        .values(**values)
    )


async def payment_for_update(
    session: AsyncSession, tenant_id: uuid.UUID, payment_id: uuid.UUID
) -> PaymentInfo | None:
    row = (
        (
            await session.execute(
                sa.select(*_payment_columns)
                .where(payment.c.tenant_id == tenant_id, payment.c.id == payment_id)
                .with_for_update()
            )
        )
        .mappings()
        .first()
    )
    return _payment(row) if row else None


# --- Stores, for the guard of store-held roles (kernel.graphql.fields.StoreOf) --------


async def stores_of_payments(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID | None]:
    """Each found tender payment's store (``None``: taken without one, e.g. cash for an
    order this center has no payment record of); absent ids were not found."""
    if not ids:
        return {}
    rows = await session.execute(
        sa.select(payment.c.id, payment.c.store_id).where(
            payment.c.tenant_id == tenant_id, payment.c.id.in_(list(ids))
        )
    )
    return {row.id: row.store_id for row in rows}


async def stores_of_orders(
    session: AsyncSession, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID | None]:
    """Each order's store as its order payment (支付单) records it, by order id; an order
    without one here (nothing to pay, or not placed) is absent."""
    if not order_ids:
        return {}
    rows = await session.execute(
        sa.select(order_payment.c.order_id, order_payment.c.store_id).where(
            order_payment.c.tenant_id == tenant_id,
            order_payment.c.order_id.in_(list(order_ids)),
        )
    )
    return {row.order_id: row.store_id for row in rows}


# --- Refunds -------------------------------------------------------------------------


async def insert_refund(
    session: AsyncSession, tenant_id: uuid.UUID, value: RefundInfo, store_id: uuid.UUID | None
) -> None:
    await session.execute(
        refund.insert().values(
            tenant_id=tenant_id,
            id=value.id,
            order_id=value.order_id,
            payment_id=value.payment_id,
            request_key=value.request_key,
            amount=value.amount.amount,
            reason=value.reason,
            status=value.status.value,
            provider_reference=value.provider_reference,
            store_id=store_id,
            created_at=value.created_at,
            completed_at=value.completed_at,
        )
    )
    if value.line_amounts:
        await session.execute(
            refund_line.insert(),
            [
                {"tenant_id": tenant_id, "refund_id": value.id, "line_id": line, "amount": amount}
                for line, amount in value.line_amounts.items()
            ],
        )


async def refunds_of_order(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> list[RefundInfo]:
    """The order's refunds, oldest first (an order has a handful)."""
    rows = (
        (
            await session.execute(
                sa.select(*refund.c, payment.c.tender, payment.c.currency)
                .join(
                    payment,
                    sa.and_(
                        payment.c.tenant_id == refund.c.tenant_id,
                        payment.c.id == refund.c.payment_id,
                    ),
                )
                .where(refund.c.tenant_id == tenant_id, refund.c.order_id == order_id)
                .order_by(refund.c.id)
            )
        )
        .mappings()
        .all()
    )
    lines = (
        (
            await session.execute(
                sa.select(
                    refund_line.c.refund_id, refund_line.c.line_id, refund_line.c.amount
                ).where(
                    refund_line.c.tenant_id == tenant_id,
                    refund_line.c.refund_id.in_([r["id"] for r in rows]),
                )
            )
        ).all()
        if rows
        else []
    )
    per_refund: dict[uuid.UUID, dict[uuid.UUID, int]] = {}
    for refund_id, line_id, amount in lines:
        per_refund.setdefault(refund_id, {})[line_id] = amount
    return [
        RefundInfo(
            id=r["id"],
            order_id=r["order_id"],
            payment_id=r["payment_id"],
            tender=PaymentTender(r["tender"]),
            request_key=r["request_key"],
            amount=Money(r["amount"], r["currency"]),
            reason=r["reason"],
            status=RefundStatus(r["status"]),
            provider_reference=r["provider_reference"],
            line_amounts=per_refund.get(r["id"], {}),
            created_at=r["created_at"],
            completed_at=r["completed_at"],
        )
        for r in rows
    ]


async def order_of_refund(
    session: AsyncSession, tenant_id: uuid.UUID, refund_id: uuid.UUID
) -> uuid.UUID | None:
    """The order a refund belongs to (without locking anything)."""
    found: uuid.UUID | None = await session.scalar(
        sa.select(refund.c.order_id).where(
            refund.c.tenant_id == tenant_id, refund.c.id == refund_id
        )
    )
    return found


async def refund_has_lines(
    session: AsyncSession, tenant_id: uuid.UUID, refund_id: uuid.UUID
) -> bool:
    found = await session.scalar(
        sa.select(refund_line.c.line_id)
        .where(refund_line.c.tenant_id == tenant_id, refund_line.c.refund_id == refund_id)
        .limit(1)
    )
    return found is not None


async def refund_line_amounts(
    session: AsyncSession, tenant_id: uuid.UUID, refund_id: uuid.UUID
) -> dict[uuid.UUID, int]:
    """What one refund gave back per order line (empty for a whole-tender refund)."""
    rows = await session.execute(
        sa.select(refund_line.c.line_id, refund_line.c.amount).where(
            refund_line.c.tenant_id == tenant_id, refund_line.c.refund_id == refund_id
        )
    )
    return {line_id: int(amount) for line_id, amount in rows.all()}


async def refund_for_update(
    session: AsyncSession, tenant_id: uuid.UUID, refund_id: uuid.UUID
) -> sa.RowMapping | None:
    return (
        (
            await session.execute(
                sa.select(*refund.c)
                .where(refund.c.tenant_id == tenant_id, refund.c.id == refund_id)
                .with_for_update()
            )
        )
        .mappings()
        .first()
    )


async def update_refund(
    session: AsyncSession, tenant_id: uuid.UUID, refund_id: uuid.UUID, **values: object
) -> None:
    await session.execute(
        refund.update()
        .where(refund.c.tenant_id == tenant_id, refund.c.id == refund_id)
        .values(**values)
    )


# --- Provider notifications and accounts ---------------------------------------------


async def claim_notification(
    session: AsyncSession, tenant_id: uuid.UUID, provider: str, notification_id: str, at: datetime
) -> bool:
    written = await session.scalar(
        insert(notification)
        .values(
            tenant_id=tenant_id, provider=provider, notification_id=notification_id, received_at=at
        )
        .on_conflict_do_nothing()
        .returning(notification.c.notification_id)
    )
    return written is not None


async def save_provider_account(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    provider: str,
    settings: dict[str, str],
    sealed_secret: str,
    at: datetime,
) -> None:
    statement = insert(provider_account).values(
        tenant_id=tenant_id,
        provider=provider,
        settings=settings,
        sealed_secret=sealed_secret,
        updated_at=at,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "provider"],
            set_={
                "settings": statement.excluded.settings,
                "sealed_secret": statement.excluded.sealed_secret,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )


async def provider_account_of(
    session: AsyncSession, tenant_id: uuid.UUID, provider: str
) -> sa.RowMapping | None:
    return (
        (
            await session.execute(
                sa.select(*provider_account.c).where(
                    provider_account.c.tenant_id == tenant_id,
                    provider_account.c.provider == provider,
                )
            )
        )
        .mappings()
        .first()
    )


# --- Reconciliation ------------------------------------------------------------------


async def reconciliation(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    start: datetime,
    end: datetime,
) -> list[ReconciliationRow]:
    """Per tender (and provider): payments captured and refunds completed in
    ``[start, end)`` at the store. Refunds count on the day they completed."""
    paid = await session.execute(
        sa.select(
            payment.c.tender,
            payment.c.provider,
            payment.c.currency,
            sa.func.count().label("n"),
            sa.func.coalesce(sa.func.sum(payment.c.amount), 0).label("total"),
        )
        .where(
            payment.c.tenant_id == tenant_id,
            payment.c.store_id == store_id,
            payment.c.captured_at >= start,
            payment.c.captured_at < end,
        )
        .group_by(payment.c.tender, payment.c.provider, payment.c.currency)
    )
    refunded = await session.execute(
        sa.select(
            payment.c.tender,
            payment.c.provider,
            payment.c.currency,
            sa.func.count().label("n"),
            sa.func.coalesce(sa.func.sum(refund.c.amount), 0).label("total"),
        )
        .select_from(
            refund.join(
                payment,
                sa.and_(
                    payment.c.tenant_id == refund.c.tenant_id, payment.c.id == refund.c.payment_id
                ),
            )
        )
        .where(
            refund.c.tenant_id == tenant_id,
            refund.c.store_id == store_id,
            refund.c.status == "SUCCEEDED",
            refund.c.completed_at >= start,
            refund.c.completed_at < end,
        )
        .group_by(payment.c.tender, payment.c.provider, payment.c.currency)
    )
    rows: dict[tuple[str, str | None, str], list[int]] = {}
    for r in paid:
        rows.setdefault((r.tender, r.provider, r.currency), [0, 0, 0, 0])[0:2] = [r.n, int(r.total)]
    for r in refunded:
        rows.setdefault((r.tender, r.provider, r.currency), [0, 0, 0, 0])[2:4] = [r.n, int(r.total)]
    return [
        ReconciliationRow(
            tender=PaymentTender(tender),
            provider=provider,
            payments=v[0],
            paid=v[1],
            refunds=v[2],
            refunded=v[3],
            net=v[1] - v[3],
            currency=currency,
        )
        for (tender, provider, currency), v in sorted(
            rows.items(), key=lambda item: (item[0][0], item[0][1] or "", item[0][2])
        )
    ]


# --- Stored value --------------------------------------------------------------------

stored_value_account = table_of(StoredValueAccount)
stored_value_entry = table_of(StoredValueEntry)

_SV_CHANGE = sa.text(
    """
    WITH changed AS (
      UPDATE payment.stored_value_account
      SET balance = balance + CAST(:delta AS bigint), updated_at = :at
      WHERE tenant_id = :tenant_id AND member_id = :member_id AND currency = :currency
        AND balance + CAST(:delta AS bigint) BETWEEN 0 AND :max_balance
      RETURNING balance
    ), logged AS (
      INSERT INTO payment.stored_value_entry
        (tenant_id, id, member_id, delta, balance_after, reason, source_key, created_at)
      SELECT CAST(:tenant_id AS uuid), CAST(:entry_id AS uuid), CAST(:member_id AS uuid),
             CAST(:delta AS bigint), balance, CAST(:reason AS text),
             CAST(:source_key AS text), CAST(:at AS timestamptz)
      FROM changed
    )
    SELECT balance FROM changed
    """
).bindparams(
    sa.bindparam("at", type_=sa.DateTime(timezone=True)),
    sa.bindparam("max_balance", type_=sa.BigInteger),
)
_SV_COLUMNS = (
    stored_value_entry.c.id,
    stored_value_entry.c.member_id,
    stored_value_entry.c.delta,
    stored_value_entry.c.balance_after,
    stored_value_entry.c.reason,
    stored_value_entry.c.created_at,
)


async def stored_value_entry_by_source(
    session: AsyncSession, tenant_id: uuid.UUID, source_key: str
) -> StoredValueEntryInfo | None:
    row = (
        await session.execute(
            sa.select(*_SV_COLUMNS).where(
                stored_value_entry.c.tenant_id == tenant_id,
                stored_value_entry.c.source_key == source_key,
            )
        )
    ).first()
    return StoredValueEntryInfo(*row) if row else None


async def change_stored_value(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    delta: int,
    currency: str,
    reason: str,
    source_key: str,
    max_balance: int,
    at: datetime,
) -> StoredValueEntryInfo | None:
    """Add ``delta`` and log it, unless the balance would leave ``0..max_balance`` (or
    the account is in another currency); ``None`` when refused. Concurrent changes to one
    account queue on its row, each seeing what the previous left."""
    await session.execute(
        insert(stored_value_account)
        .values(
            tenant_id=tenant_id, member_id=member_id, balance=0, currency=currency, updated_at=at
        )
        .on_conflict_do_nothing()
    )
    entry_id = new_id()
    balance = await session.scalar(
        _SV_CHANGE,
        {
            "tenant_id": tenant_id,
            "member_id": member_id,
            "delta": delta,
            "currency": currency,
            "max_balance": max_balance,
            "entry_id": entry_id,
            "reason": reason,
            "source_key": source_key,
            "at": at,
        },
    )
    if balance is None:
        return None
    return StoredValueEntryInfo(
        id=entry_id,
        member_id=member_id,
        delta=delta,
        balance_after=int(balance),
        reason=reason,
        created_at=at,
    )


async def stored_value_balance(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID
) -> tuple[int, str] | None:
    row = (
        await session.execute(
            sa.select(stored_value_account.c.balance, stored_value_account.c.currency).where(
                stored_value_account.c.tenant_id == tenant_id,
                stored_value_account.c.member_id == member_id,
            )
        )
    ).first()
    return (int(row.balance), str(row.currency)) if row else None


async def stored_value_entries(
    session: AsyncSession, tenant_id: uuid.UUID, member_id: uuid.UUID, limit: int
) -> list[StoredValueEntryInfo]:
    rows = await session.execute(
        sa.select(*_SV_COLUMNS)
        .where(
            stored_value_entry.c.tenant_id == tenant_id,
            stored_value_entry.c.member_id == member_id,
        )
        .order_by(stored_value_entry.c.created_at.desc(), stored_value_entry.c.id.desc())
        .limit(limit)
    )
    return [StoredValueEntryInfo(*row) for row in rows.all()]
