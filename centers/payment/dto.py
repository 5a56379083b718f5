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


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    REFUNDED = "REFUNDED"


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


@dataclass(frozen=True, slots=True)
class ProviderCallback:
    """A verified notification from the provider about one payment."""

    payment_id: uuid.UUID
    provider_reference: str
    succeeded: bool
    amount: Money
    paid_at: datetime | None


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
