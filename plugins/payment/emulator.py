"""A sandbox online payment provider over real HTTP on 127.0.0.1, for tests and demos.

It behaves like WeChat Pay or Alipay where it matters to us:

- ``POST /v1/payments`` (signed by the merchant) opens a payment (统一下单), idempotent by
  ``out_trade_no``; the buyer then pays or fails in the "wallet" (``pay``/``fail``
  below, what a phone would do);
- the outcome reaches the merchant as an asynchronous, signed ``POST`` to its
  ``notify_url``, redelivered with backoff until it answers 2xx, and on request
  delivered twice (duplicates) or with a stale notification after it (out of order);
- ``POST /v1/refunds`` refunds part or all of a paid payment, idempotent by
  ``out_refund_no``, never beyond what was paid, settled by a later signed callback;
- ``GET /v1/payments/{transaction_id}`` answers the payment's state.

    emulator = SandboxPayEmulator()
    emulator.add_merchant("m-1", secret)
    async with LoopbackServer(emulator.app()) as server:
        ...  # configure the tenant with base_url=server.url
        await emulator.pay(transaction_id, duplicates=1)
        await emulator.settled()  # every callback delivered (or given up)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from plugins import signing
from plugins.payment.sandbox import SIGNATURE, TIMESTAMP, signed_headers


@dataclass
class _Payment:
    transaction_id: str
    merchant_id: str
    out_trade_no: str
    amount: int
    currency: str
    notify_url: str
    status: str = "NOTPAY"  # NOTPAY, SUCCESS, PAYERROR
    paid_at: str | None = None
    refunded: int = 0


@dataclass
class _Refund:
    refund_id: str
    out_refund_no: str
    transaction_id: str
    amount: int
    notify_url: str
    status: str = "PROCESSING"


@dataclass
class Delivery:
    """One attempt to deliver a callback, as the merchant answered it."""

    notification_id: str
    event_type: str
    status: str
    http_status: int | None  # None: the merchant could not be reached


@dataclass
class SandboxPayEmulator:
    retry_delays: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)
    merchants: dict[str, str] = field(default_factory=dict)
    payments: dict[str, _Payment] = field(default_factory=dict)
    refunds: dict[str, _Refund] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    _by_trade_no: dict[tuple[str, str], str] = field(default_factory=dict)
    _by_refund_no: dict[tuple[str, str], str] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    # Refunds are confirmed only when this is set (tests hold them to reorder callbacks).
    hold_refunds: bool = False
    # The bank refuses refunds (a closed card): they settle FAILED and the money stays.
    refuse_refunds: bool = False

    def add_merchant(self, merchant_id: str, secret: str) -> None:
        self.merchants[merchant_id] = secret

    # --- HTTP API ------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/payments", self._create_payment, methods=["POST"]),
                Route("/v1/payments/{transaction_id}", self._query_payment, methods=["GET"]),
                Route("/v1/refunds", self._create_refund, methods=["POST"]),
            ]
        )

    async def _authenticated(self, request: Request) -> dict[str, Any] | JSONResponse:
        body = await request.body()
        try:
            data: dict[str, Any] = json.loads(body)
            secret = self.merchants[str(data["merchant_id"])]
        except (ValueError, KeyError):
            return JSONResponse({"code": "MCH_NOT_EXISTS"}, status_code=401)
        stamp = request.headers.get(TIMESTAMP, "")
        if not signing.verify(secret, stamp, request.headers.get(SIGNATURE, ""), body):
            return JSONResponse({"code": "SIGN_ERROR"}, status_code=401)
        return data

    async def _create_payment(self, request: Request) -> JSONResponse:
        data = await self._authenticated(request)
        if isinstance(data, JSONResponse):
            return data
        key = (str(data["merchant_id"]), str(data["out_trade_no"]))
        amount = data.get("amount")
        if not isinstance(amount, int) or amount <= 0:
            return JSONResponse({"code": "PARAM_ERROR", "message": "amount"}, status_code=400)
        existing = self._by_trade_no.get(key)
        if existing is not None:
            payment = self.payments[existing]
            if payment.amount != amount:
                return JSONResponse({"code": "OUT_TRADE_NO_USED"}, status_code=409)
        else:
            payment = _Payment(
                transaction_id=f"sbx_{secrets.token_hex(10)}",
                merchant_id=key[0],
                out_trade_no=key[1],
                amount=amount,
                currency=str(data.get("currency", "CNY")),
                notify_url=str(data["notify_url"]),
            )
            self.payments[payment.transaction_id] = payment
            self._by_trade_no[key] = payment.transaction_id
        return JSONResponse(
            {
                "transaction_id": payment.transaction_id,
                "prepay_id": f"wx{payment.transaction_id[4:]}",
                "pay_url": f"sandbox://pay/{payment.transaction_id}",
                "status": payment.status,
            }
        )

    async def _query_payment(self, request: Request) -> JSONResponse:
        payment = self.payments.get(str(request.path_params["transaction_id"]))
        if payment is None:
            return JSONResponse({"code": "ORDER_NOT_EXIST"}, status_code=404)
        return JSONResponse(
            {
                "transaction_id": payment.transaction_id,
                "status": payment.status,
                "amount": payment.amount,
                "refunded": payment.refunded,
            }
        )

    async def _create_refund(self, request: Request) -> JSONResponse:
        data = await self._authenticated(request)
        if isinstance(data, JSONResponse):
            return data
        key = (str(data["merchant_id"]), str(data["out_refund_no"]))
        existing = self._by_refund_no.get(key)
        if existing is not None:
            found = self.refunds[existing]
            return JSONResponse({"refund_id": found.refund_id, "status": found.status})
        payment = self.payments.get(str(data["transaction_id"]))
        amount = data.get("amount")
        if payment is None or payment.merchant_id != key[0]:
            return JSONResponse({"code": "ORDER_NOT_EXIST"}, status_code=404)
        if payment.status != "SUCCESS":
            return JSONResponse({"code": "TRADE_NOT_PAID"}, status_code=400)
        if not isinstance(amount, int) or amount <= 0 or payment.refunded + amount > payment.amount:
            return JSONResponse({"code": "REFUND_AMOUNT_INVALID"}, status_code=400)
        payment.refunded += amount
        refund = _Refund(
            refund_id=f"sbr_{secrets.token_hex(10)}",
            out_refund_no=key[1],
            transaction_id=payment.transaction_id,
            amount=amount,
            notify_url=str(data["notify_url"]),
        )
        self.refunds[refund.refund_id] = refund
        self._by_refund_no[key] = refund.refund_id
        if not self.hold_refunds:
            self._spawn(self._confirm_refund(refund))
        return JSONResponse({"refund_id": refund.refund_id, "status": refund.status})

    # --- The buyer's wallet and the callbacks --------------------------------------

    async def pay(
        self,
        transaction_id: str,
        *,
        duplicates: int = 0,
        stale_failure_after: bool = False,
        delay: float = 0.0,
    ) -> None:
        """The buyer pays: a SUCCESS callback (plus ``duplicates`` redeliveries of the
        same notification, and, with ``stale_failure_after``, an older PAYERROR
        notification arriving after it)."""
        payment = self.payments[transaction_id]
        payment.status = "SUCCESS"
        payment.paid_at = datetime.now(UTC).isoformat()
        notification = self._payment_notification(payment, "SUCCESS")
        for _ in range(1 + duplicates):
            self._spawn(self._deliver(payment.merchant_id, payment.notify_url, notification, delay))
        if stale_failure_after:
            stale = self._payment_notification(payment, "FAILED")
            self._spawn(self._deliver(payment.merchant_id, payment.notify_url, stale, delay + 0.05))

    async def fail(self, transaction_id: str) -> None:
        """The buyer's payment fails (card declined, wallet closed)."""
        payment = self.payments[transaction_id]
        payment.status = "PAYERROR"
        notification = self._payment_notification(payment, "FAILED")
        self._spawn(self._deliver(payment.merchant_id, payment.notify_url, notification, 0.0))

    def release_refunds(self) -> None:
        """Confirm every refund held by ``hold_refunds``."""
        self.hold_refunds = False
        for refund in self.refunds.values():
            if refund.status == "PROCESSING":
                self._spawn(self._confirm_refund(refund))

    async def settled(self) -> None:
        """Wait until every callback was delivered or given up (bounded by the retry
        schedule; wrap in ``asyncio.timeout`` to bound it further)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _payment_notification(self, payment: _Payment, status: str) -> dict[str, Any]:
        return {
            "notification_id": f"ntf_{secrets.token_hex(8)}",
            "event_type": "PAYMENT",
            "merchant_id": payment.merchant_id,
            "out_trade_no": payment.out_trade_no,
            "transaction_id": payment.transaction_id,
            "status": status,
            "amount": payment.amount,
            "currency": payment.currency,
            "paid_at": payment.paid_at if status == "SUCCESS" else None,
        }

    async def _confirm_refund(self, refund: _Refund) -> None:
        payment = self.payments[refund.transaction_id]
        if self.refuse_refunds:
            refund.status = "FAILED"
            payment.refunded -= refund.amount
        else:
            refund.status = "SUCCESS"
        notification = {
            "notification_id": f"ntf_{secrets.token_hex(8)}",
            "event_type": "REFUND",
            "merchant_id": payment.merchant_id,
            "out_trade_no": payment.out_trade_no,
            "transaction_id": payment.transaction_id,
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "status": refund.status,
            "amount": refund.amount,
            "currency": payment.currency,
        }
        await self._deliver(payment.merchant_id, refund.notify_url, notification, 0.0)

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(
        self, merchant_id: str, url: str, notification: dict[str, Any], delay: float
    ) -> None:
        """POST until the merchant answers 2xx, backing off; give up after the last try."""
        if delay:
            await asyncio.sleep(delay)
        body = json.dumps(notification, sort_keys=True).encode()
        for wait in (0.0, *self.retry_delays):
            if wait:
                await asyncio.sleep(wait)
            # Signed at each attempt, as a real provider does (fresh timestamp).
            headers = signed_headers(self.merchants[merchant_id], body)
            status: int | None
            try:
                async with httpx.AsyncClient(timeout=5.0) as client:
                    response = await client.post(url, content=body, headers=headers)
                status = response.status_code
            except httpx.HTTPError:
                status = None
            self.deliveries.append(
                Delivery(
                    notification_id=str(notification["notification_id"]),
                    event_type=str(notification["event_type"]),
                    status=str(notification["status"]),
                    http_status=status,
                )
            )
            if status is not None and 200 <= status < 300:
                return
