"""Tables of the order center, all in PostgreSQL schema ``order``."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

SCHEMA = "order"


class TradeOrder(SQLModel, table=True):
    """A trade order (交易单/主订单): what a buyer placed, with its amounts and state."""

    __tablename__ = "trade_order"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number", name="trade_order_number_key"),
        sa.Index("trade_order_buyer", "tenant_id", "buyer_subject", "id"),
        sa.Index(
            "trade_order_member_subject",
            "tenant_id",
            "member_subject",
            "id",
            postgresql_where=sa.text("member_subject IS NOT NULL"),
        ),
        sa.Index("trade_order_store", "tenant_id", "store_id", "id"),
        sa.Index("trade_order_status", "tenant_id", "status", "id"),
        sa.Index(
            "trade_order_channel_external",
            "tenant_id",
            "channel",
            "external_id",
            unique=True,
            postgresql_where=sa.text("external_id IS NOT NULL"),
        ),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    number: str = Field(max_length=32)
    store_id: uuid.UUID
    buyer_subject: str = Field(max_length=200)
    # The membership the order was placed for (at the till: the member's id, scanned), and
    # that member's app account as a subject: the member reads the order (decision 0113).
    member_id: uuid.UUID | None = None
    member_subject: str | None = Field(default=None, max_length=200)
    order_type: str = Field(max_length=16, default="STANDARD")
    channel: str = Field(max_length=32, default="POS")
    status: str = Field(max_length=24)
    currency: str = Field(max_length=3)
    list_amount: int = 0
    discount_amount: int = 0
    delivery_fee: int = 0
    total_amount: int  # payable: list - discounts + delivery fee
    deposit_amount: int = 0  # presale (预售) deposit, part of the payable
    paid_amount: int = 0
    refunded_amount: int = 0
    pickup_code: str | None = Field(default=None, max_length=12)
    external_id: str | None = Field(default=None, max_length=64)
    placed_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    status_changed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    cancelled_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    cancel_reason: str | None = Field(default=None, max_length=200)


class SubOrder(SQLModel, table=True):
    """A sub-order (子订单): the lines one store/warehouse/merchant fulfils."""

    __tablename__ = "sub_order"
    __table_args__ = {"schema": SCHEMA}

    tenant_id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID = Field(primary_key=True)
    sub_no: int = Field(primary_key=True)
    split_key: str = Field(max_length=80)
    store_id: uuid.UUID
    list_amount: int
    discount_amount: int
    delivery_fee: int
    payable_amount: int
    refunded_amount: int = 0


class OrderLine(SQLModel, table=True):
    """A line (订单详情) with a snapshot of the SKU as sold and its allocated amounts."""

    __tablename__ = "order_line"
    __table_args__ = {"schema": SCHEMA}

    tenant_id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID = Field(primary_key=True)
    line_no: int = Field(primary_key=True)
    sub_no: int = 1
    sku_id: uuid.UUID
    sku_code: str = Field(max_length=64)
    sku_name: str = Field(max_length=200)
    unit_price_amount: int
    quantity: int
    line_amount: int  # list amount: unit price × quantity
    discount_amount: int = 0
    payable_amount: int = 0
    refunded_amount: int = 0


class OrderLineDiscount(SQLModel, table=True):
    """One discount allocated to one line (金额分摊), by source."""

    __tablename__ = "order_line_discount"
    __table_args__ = {"schema": SCHEMA}

    tenant_id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID = Field(primary_key=True)
    line_no: int = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    source: str = Field(max_length=16)  # PROMOTION, COUPON, MEMBER, POINTS
    source_id: uuid.UUID | None = None
    label: str = Field(max_length=200)
    amount: int


class OrderHistory(SQLModel, table=True):
    """Every transition of an order: time, actor, event, from, to, reason."""

    __tablename__ = "order_history"
    __table_args__ = (
        sa.Index("order_history_at", "tenant_id", "at"),
        sa.Index(
            "order_history_key",
            "tenant_id",
            "order_id",
            "idempotency_key",
            unique=True,
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        ),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    actor: str = Field(max_length=200)
    event: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=24)
    to_status: str = Field(max_length=24)
    reason: str = Field(default="", max_length=200)
    idempotency_key: str | None = Field(default=None, max_length=128)


class OrderSetting(SQLModel, table=True):
    """The tenant's order rules; a tenant without a row gets the defaults."""

    __tablename__ = "order_setting"
    __table_args__ = {"schema": SCHEMA}

    tenant_id: uuid.UUID = Field(primary_key=True)
    payment_timeout_seconds: int = 900  # unpaid orders are cancelled after 15 min
    after_sale_days: int = 7  # 7-day no-reason return after receipt
    delivery_fee: int = 0  # per shipped sub-order
    free_delivery_from: int | None = None  # sub-order payable from which delivery is free
    presale_deposit_percent: int = 20
    presale_balance_hours: int = 72  # the balance is due this long after it opens
    # Review (审核) rules; None = off. A buyer placing more than this many orders in an
    # hour, or a discount above this share of the list amount, goes to review.
    review_orders_per_hour: int | None = None
    review_discount_percent: int | None = None


class OrderRefund(SQLModel, table=True):
    """An after-sale request (售后单): refund only, return and refund, out of stock."""

    __tablename__ = "order_refund"
    __table_args__ = (
        sa.Index("order_refund_order", "tenant_id", "order_id", "id"),
        sa.Index("order_refund_status", "tenant_id", "status", "id"),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID
    kind: str = Field(max_length=24)
    status: str = Field(max_length=24)
    amount: int
    reason: str = Field(max_length=200)
    requested_by: str = Field(max_length=200)
    requested_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    note: str = Field(default="", max_length=200)  # the last decision's reason


class OrderRefundLine(SQLModel, table=True):
    """What one after-sale request gives back for one order line."""

    __tablename__ = "order_refund_line"
    __table_args__ = {"schema": SCHEMA}

    tenant_id: uuid.UUID = Field(primary_key=True)
    refund_id: uuid.UUID = Field(primary_key=True)
    line_no: int = Field(primary_key=True)
    quantity: int  # units coming back (returns restock them after inspection)
    amount: int
    # Refused by the provider and not yet refunded again (a retry clears it).
    failed_amount: int = Field(default=0, sa_type=sa.BigInteger)


class BuyGroup(SQLModel, table=True):
    """A group buy (拼团) group: ``size`` paid orders within its window complete it."""

    __tablename__ = "buy_group"
    __table_args__ = (
        sa.CheckConstraint("size BETWEEN 2 AND 100", name="buy_group_size_check"),
        sa.CheckConstraint("paid >= 0 AND paid <= size", name="buy_group_paid_check"),
        sa.CheckConstraint(
            "status IN ('OPEN', 'COMPLETED', 'FAILED')", name="buy_group_status_check"
        ),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(primary_key=True)
    activity_id: uuid.UUID  # promotion.activity (GROUP_BUY), by id only
    size: int
    paid: int = 0  # member orders paid so far
    status: str = Field(sa_type=sa.Text)
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    closed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class BuyGroupMember(SQLModel, table=True):
    """An order that joined (or opened) a group."""

    __tablename__ = "buy_group_member"
    __table_args__ = (
        sa.Index("buy_group_member_order", "tenant_id", "order_id", unique=True),
        {"schema": SCHEMA},
    )

    tenant_id: uuid.UUID = Field(primary_key=True)
    group_id: uuid.UUID = Field(primary_key=True)
    order_id: uuid.UUID = Field(primary_key=True)
    paid: bool = False
    joined_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
