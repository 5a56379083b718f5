"""The sandbox payment provider adapter: speaks the sandbox provider's HTTP API (see
``emulator.py``) for one tenant's merchant account.

Requests we send and callbacks we receive are signed with the merchant secret:
HMAC-SHA256, hex, over ``"<timestamp>.<body>"`` in ``X-Sandbox-Timestamp`` and
``X-Sandbox-Signature``; a callback older than 5 minutes is refused (replay guard).

Account settings: ``base_url`` (the provider's API), ``merchant_id``, ``notify_url``
(our ``/callbacks/payment/sandbox/<tenant id>`` as the provider reaches it).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from centers.payment.api import ProviderAccountSettings
from centers.payment.dto import (
    CallbackKind,
    ProviderCallback,
    ProviderPayment,
    ProviderPaymentRequest,
    ProviderRefund,
    ProviderRefundRequest,
)
from kernel.money import Money
from plugins import signing

NAME = "sandbox"
TIMESTAMP = "x-sandbox-timestamp"
SIGNATURE = "x-sandbox-signature"
TIMEOUT_SECONDS = 5.0


def signed_headers(secret: str, body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {
        "content-type": "application/json",
        TIMESTAMP: stamp,
        SIGNATURE: signing.signature(secret, stamp, body),
    }


class SandboxError(RuntimeError):
    """The provider refused a request (the message says why)."""


class SandboxProvider:
    """``ports.PaymentProvider`` for the sandbox provider, for one tenant."""

    def __init__(self, account: ProviderAccountSettings) -> None:
        self.base_url = account.settings["base_url"].rstrip("/")
        self.merchant_id = account.settings["merchant_id"]
        self.notify_url = account.settings.get("notify_url", "")
        self._secret = account.secret

    @classmethod
    def from_account(cls, account: ProviderAccountSettings) -> SandboxProvider:
        return cls(account)

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload, sort_keys=True).encode()
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            response = await client.post(
                f"{self.base_url}{path}", content=body, headers=signed_headers(self._secret, body)
            )
        if response.status_code >= 400:
            raise SandboxError(f"{path}: HTTP {response.status_code} {response.text[:200]}")
        answer: dict[str, Any] = response.json()
        return answer

    async def create_payment(self, request: ProviderPaymentRequest) -> ProviderPayment:
        answer = await self._post(
            "/v1/payments",
            {
                "merchant_id": self.merchant_id,
                "out_trade_no": str(request.payment_id),
                "amount": request.amount.amount,
                "currency": request.amount.currency,
                "description": request.description,
                "notify_url": self.notify_url,
            },
        )
        return ProviderPayment(
            provider_reference=str(answer["transaction_id"]),
            client_parameters={
                "prepay_id": str(answer["prepay_id"]),
                "pay_url": str(answer["pay_url"]),
            },
        )

    def verify_callback(self, headers: Mapping[str, str], body: bytes) -> ProviderCallback | None:
        lowered = {k.lower(): v for k, v in headers.items()}
        stamp, given = lowered.get(TIMESTAMP, ""), lowered.get(SIGNATURE, "")
        if not signing.verify(self._secret, stamp, given, body):
            return None
        try:
            data = json.loads(body)
            if data["merchant_id"] != self.merchant_id:
                return None
            kind = CallbackKind(data["event_type"])
            paid_at = data.get("paid_at")
            return ProviderCallback(
                payment_id=uuid.UUID(str(data["out_trade_no"])),
                provider_reference=str(
                    data["refund_id"] if kind is CallbackKind.REFUND else data["transaction_id"]
                ),
                succeeded=data["status"] == "SUCCESS",
                amount=Money(int(data["amount"]), str(data["currency"])),
                paid_at=datetime.fromisoformat(paid_at) if paid_at else None,
                notification_id=str(data["notification_id"]),
                kind=kind,
                refund_id=(
                    uuid.UUID(str(data["out_refund_no"])) if kind is CallbackKind.REFUND else None
                ),
            )
        except (KeyError, ValueError, TypeError):
            return None

    async def refund(self, request: ProviderRefundRequest) -> ProviderRefund:
        answer = await self._post(
            "/v1/refunds",
            {
                "merchant_id": self.merchant_id,
                "out_refund_no": str(request.refund_id),
                "transaction_id": request.provider_reference,
                "amount": request.amount.amount,
                "reason": request.reason,
                "notify_url": self.notify_url,
            },
        )
        return ProviderRefund(
            provider_refund_reference=str(answer["refund_id"]),
            succeeded=answer["status"] == "SUCCESS",
        )
