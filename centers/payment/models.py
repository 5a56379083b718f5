"""Tables of the payment center, all in PostgreSQL schema ``payment``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

SCHEMA = "payment"


class Payment(SQLModel, table=True):
    """A payment (支付单) of one tender toward an order; an order may have several."""

    __tablename__ = "payment"
    __table_args__ = (
        sa.CheckConstraint(
            "tender IN ('ONLINE', 'CASH', 'POINTS', 'STORED_VALUE', 'CHANNEL')",
            name="payment_tender_check",
        ),
        sa.CheckConstraint("amount > 0", name="payment_amount_check"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'REFUNDED', 'CLOSED')",
            name="payment_status_check",
        ),
        sa.CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount", name="payment_refunded_check"
        ),
        sa.Index("payment_order_idx", "tenant_id", "order_id"),
        sa.Index("payment_store_day", "tenant_id", "store_id", "captured_at"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID  # order.order, by id only (no foreign key across centers)
    tender: str = Field(sa_type=sa.Text)
    amount: int = Field(sa_type=sa.BigInteger)  # minor units (分)
    currency: str = Field(max_length=3)
    status: str = Field(sa_type=sa.Text)
    provider_reference: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    provider: str | None = Field(default=None, max_length=32)
    store_id: uuid.UUID | None = None
    captured_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    # Refunds that succeeded or are on their way (a refund never exceeds the payment).
    refunded_amount: int = Field(default=0, sa_type=sa.BigInteger)
    # For a points tender: the member whose points paid.
    member_id: uuid.UUID | None = None
    points: int | None = None


class OrderPayment(SQLModel, table=True):
    """The payment (支付单) of one order: what is owed, what the tenders paid so far.

    ``line_amounts`` holds each order line's payable (line id → minor units), so refunds
    are capped per line and per tender.
    """

    __tablename__ = "order_payment"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="order_payment_amount_check"),
        sa.CheckConstraint(
            "paid_amount >= 0 AND paid_amount <= amount", name="order_payment_paid_check"
        ),
        sa.CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= paid_amount",
            name="order_payment_refunded_check",
        ),
        sa.CheckConstraint(
            "status IN ('OPEN', 'PAID', 'CLOSED')", name="order_payment_status_check"
        ),
        sa.CheckConstraint(
            "deposit_amount IS NULL OR (deposit_amount > 0 AND deposit_amount < amount)",
            name="order_payment_deposit_check",
        ),
        sa.Index("order_payment_store_day", "tenant_id", "store_id", "paid_at"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID
    store_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None
    amount: int = Field(sa_type=sa.BigInteger)
    currency: str = Field(max_length=3)
    paid_amount: int = Field(default=0, sa_type=sa.BigInteger)
    refunded_amount: int = Field(default=0, sa_type=sa.BigInteger)
    status: str = Field(sa_type=sa.Text)
    line_amounts: dict[str, Any] = Field(sa_type=JSONB)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    paid_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    closed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    # Presale (预售): the deposit is paid first, the rest from ``balance_from`` on.
    deposit_amount: int | None = Field(default=None, sa_type=sa.BigInteger)
    balance_from: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class Refund(SQLModel, table=True):
    """A refund (退款单) to one original tender payment."""

    __tablename__ = "refund"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="refund_amount_check"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUCCEEDED', 'FAILED')", name="refund_status_check"
        ),
        sa.Index("refund_order", "tenant_id", "order_id", "id"),
        sa.Index("refund_payment", "tenant_id", "payment_id"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID
    payment_id: uuid.UUID  # the tender payment refunded
    request_key: str = Field(max_length=160)  # the refund request (per order) it belongs to
    amount: int = Field(sa_type=sa.BigInteger)
    reason: str = Field(sa_type=sa.Text)
    status: str = Field(sa_type=sa.Text)
    provider_reference: str | None = Field(default=None, max_length=128)
    store_id: uuid.UUID | None = None
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    completed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class RefundLine(SQLModel, table=True):
    """What a refund gives back on one order line (退款分摊)."""

    __tablename__ = "refund_line"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="refund_line_amount_check"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    refund_id: uuid.UUID = Field(primary_key=True)
    line_id: uuid.UUID = Field(primary_key=True)
    amount: int = Field(sa_type=sa.BigInteger)


class ProviderNotification(SQLModel, table=True):
    """A provider callback we processed, by the provider's notification id: a duplicate
    delivery finds its row and changes nothing."""

    __tablename__ = "provider_notification"
    __table_args__ = ({"schema": SCHEMA},)

    tenant_id: uuid.UUID = Field(primary_key=True)
    provider: str = Field(primary_key=True, max_length=32)
    notification_id: str = Field(primary_key=True, max_length=128)
    received_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class ProviderAccount(SQLModel, table=True):
    """A tenant's merchant account at a payment provider; the secret sealed at rest."""

    __tablename__ = "provider_account"
    __table_args__ = ({"schema": SCHEMA},)

    tenant_id: uuid.UUID = Field(primary_key=True)
    provider: str = Field(primary_key=True, max_length=32)
    settings: dict[str, Any] = Field(sa_type=JSONB)  # base URL, merchant id…
    sealed_secret: str = Field(sa_type=sa.Text)
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class StoredValueAccount(SQLModel, table=True):
    """A member's stored value (储值余额), topped up in advance and spent as a tender."""

    __tablename__ = "stored_value_account"
    __table_args__ = (
        sa.CheckConstraint("balance >= 0", name="stored_value_balance_not_negative"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    member_id: uuid.UUID = Field(primary_key=True)
    balance: int = Field(sa_type=sa.BigInteger)
    currency: str = Field(max_length=3)
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class StoredValueEntry(SQLModel, table=True):
    """The stored-value ledger: every change with the balance it left, once per source."""

    __tablename__ = "stored_value_entry"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "source_key", name="stored_value_entry_source_key"),
        sa.Index("stored_value_entry_member", "tenant_id", "member_id", "id"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    member_id: uuid.UUID
    delta: int = Field(sa_type=sa.BigInteger)
    balance_after: int = Field(sa_type=sa.BigInteger)
    reason: str = Field(sa_type=sa.Text)
    source_key: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
