"""Tables of the payment center, all in PostgreSQL schema ``payment``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

SCHEMA = "payment"


class Payment(SQLModel, table=True):
    """A payment (支付单) of one tender toward an order; an order may have several."""

    __tablename__ = "payment"
    __table_args__ = (
        sa.CheckConstraint(
            "tender IN ('ONLINE', 'CASH', 'POINTS', 'STORED_VALUE')", name="payment_tender_check"
        ),
        sa.CheckConstraint("amount > 0", name="payment_amount_check"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'REFUNDED')",
            name="payment_status_check",
        ),
        sa.Index("payment_order_idx", "tenant_id", "order_id"),
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
