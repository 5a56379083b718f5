"""Frozen values the payment center hands to other centers (re-exported by ``api``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kernel.money import Money


class PaymentTender(StrEnum):
    ONLINE = "ONLINE"  # through a payment provider (WeChat Pay, Alipay…)
    CASH = "CASH"  # 现金, taken at the POS
    POINTS = "POINTS"  # 积分抵现
    STORED_VALUE = "STORED_VALUE"  # 储值卡 / member balance
    CHANNEL = "CHANNEL"  # collected by a sales channel (美团, 饿了么…); ``provider`` names it


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    REFUNDED = "REFUNDED"  # refunded in full
    CLOSED = "CLOSED"  # the order closed before this tender was paid


@dataclass(frozen=True, slots=True)
class PaymentInfo:
    id: uuid.UUID
    tenant_id: uuid.UUID
    order_id: uuid.UUID
    tender: PaymentTender
    amount: Money
    status: PaymentStatus
    provider_reference: str | None
    created_at: datetime
    provider: str | None = None
    store_id: uuid.UUID | None = None
    captured_at: datetime | None = None
    refunded_amount: int = 0
    member_id: uuid.UUID | None = None  # a points tender: whose points
    points: int | None = None  # a points tender: how many points


@dataclass(frozen=True, slots=True)
class ProviderPaymentRequest:
    """What a provider needs to open a payment for one of our payments."""

    payment_id: uuid.UUID  # our id; providers echo it back as the merchant order id
    order_id: uuid.UUID
    amount: Money
    description: str


@dataclass(frozen=True, slots=True)
class ProviderPayment:
    provider_reference: str  # the provider's payment serial number (支付流水号)
    # Whatever the front end needs to launch the wallet (prepay id, QR code URL…).
    client_parameters: Mapping[str, str]


class CallbackKind(StrEnum):
    PAYMENT = "PAYMENT"
    REFUND = "REFUND"


@dataclass(frozen=True, slots=True)
class ProviderCallback:
    """A verified notification from the provider about one payment or refund."""

    payment_id: uuid.UUID
    provider_reference: str
    succeeded: bool
    amount: Money
    paid_at: datetime | None
    # The provider's id of this notification: a duplicate delivery repeats it.
    notification_id: str = ""
    kind: CallbackKind = CallbackKind.PAYMENT
    refund_id: uuid.UUID | None = None  # our refund id, for a REFUND notification


@dataclass(frozen=True, slots=True)
class ProviderRefundRequest:
    refund_id: uuid.UUID  # our id; a retried refund with the same id must not pay twice
    payment_id: uuid.UUID
    provider_reference: str
    amount: Money
    reason: str


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    provider_refund_reference: str
    succeeded: bool  # False: accepted but still processing; a callback follows


class OrderPaymentStatus(StrEnum):
    OPEN = "OPEN"  # waiting for tenders
    PAID = "PAID"  # fully paid; ``payment.captured`` was emitted
    CLOSED = "CLOSED"  # the order was cancelled: no further capture, tenders refunded


@dataclass(frozen=True, slots=True)
class OrderPaymentInfo:
    """The payment (支付单) of one order."""

    id: uuid.UUID
    order_id: uuid.UUID
    store_id: uuid.UUID | None
    member_id: uuid.UUID | None
    amount: Money
    paid_amount: int
    refunded_amount: int
    status: OrderPaymentStatus
    line_amounts: Mapping[uuid.UUID, int]
    created_at: datetime
    paid_at: datetime | None
    closed_at: datetime | None
    # Presale (预售): paid in two stages, the deposit first, the balance from
    # ``balance_from`` on. ``None``: one stage, the whole amount.
    deposit_amount: int | None = None
    balance_from: datetime | None = None

    @property
    def stage_end(self) -> int:
        """What ``paid_amount`` must reach to complete the stage being paid now."""
        if self.deposit_amount is not None and self.paid_amount < self.deposit_amount:
            return self.deposit_amount
        return self.amount.amount


class RefundStatus(StrEnum):
    PENDING = "PENDING"  # asked of the provider; its callback settles it
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class RefundInfo:
    """A refund (退款单) to one original tender."""

    id: uuid.UUID
    order_id: uuid.UUID
    payment_id: uuid.UUID
    tender: PaymentTender
    request_key: str
    amount: Money
    reason: str
    status: RefundStatus
    provider_reference: str | None
    line_amounts: Mapping[uuid.UUID, int]
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class OnlinePaymentStart:
    payment: PaymentInfo
    client_parameters: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ReconciliationRow:
    """One tender's money for one store and day (对账)."""

    tender: PaymentTender
    provider: str | None
    payments: int
    paid: int
    refunds: int
    refunded: int
    net: int
    currency: str


@dataclass(frozen=True, slots=True)
class ProviderAccountSettings:
    """What a provider adapter needs to act for one tenant (the secret opened)."""

    tenant_id: uuid.UUID
    provider: str
    settings: Mapping[str, str]
    secret: str


@dataclass(frozen=True, slots=True)
class StoredValueEntryInfo:
    """One change to a member's stored value (储值流水)."""

    id: uuid.UUID
    member_id: uuid.UUID
    delta: int
    balance_after: int
    reason: str
    created_at: datetime
