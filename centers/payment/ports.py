"""Ports plugins implement for the payment center."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from centers.payment.dto import (
    ProviderCallback,
    ProviderPayment,
    ProviderPaymentRequest,
    ProviderRefund,
    ProviderRefundRequest,
)


class PaymentProvider(Protocol):
    """A tenant's online payment provider (WeChat Pay, Alipay, a bank's acquiring API…).

    One instance serves one tenant with that tenant's merchant credentials, so no method
    takes a tenant id. Calls must be idempotent by our ids: the caller retries.
    """

    async def create_payment(self, request: ProviderPaymentRequest) -> ProviderPayment:
        """Open a payment at the provider for ``request.amount`` (统一下单).

        Called again with the same ``payment_id`` it must return the same provider
        payment, not open a second one.
        """
        ...

    def verify_callback(self, headers: Mapping[str, str], body: bytes) -> ProviderCallback | None:
        """Check the provider's signature on a callback and parse it.

        Returns ``None`` when the signature does not verify or the body is not a payment
        notification; the caller then ignores the request. Never trusts the body first.
        """
        ...

    async def refund(self, request: ProviderRefundRequest) -> ProviderRefund:
        """Refund ``request.amount`` of a succeeded payment back to the original tender.

        Partial refunds are allowed; the same ``refund_id`` must never refund twice.
        """
        ...
