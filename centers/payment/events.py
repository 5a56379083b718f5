"""Events the payment center publishes (topic ``payment.*``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class PaymentSucceeded:
    """Money was received for an order; the order center moves the order on."""

    topic: ClassVar[str] = "payment.succeeded"
    payment_id: uuid.UUID
    order_id: uuid.UUID
    tender: str
    amount: int
    currency: str

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.payment_id


@dataclass(frozen=True, slots=True)
class PaymentCaptured:
    """An order's payable is fully paid (one or several tenders). The order center
    handles it in the same transaction (moves the order to PAID); if it refuses (the
    order was cancelled meanwhile), the payment center refunds the tenders at once."""

    topic: ClassVar[str] = "payment.captured"
    order_id: uuid.UUID
    payment_id: uuid.UUID  # the order's payment (支付单) id
    amount: int  # what this stage paid
    currency: str
    # ``FULL`` (the whole amount), or a presale's ``DEPOSIT`` then ``BALANCE``: a
    # presale payment is captured twice, once per stage.
    stage: str = "FULL"

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.order_id


@dataclass(frozen=True, slots=True)
class PaymentRefunded:
    """Money went back (or is on its way back) to one tender."""

    topic: ClassVar[str] = "payment.refunded"
    refund_id: uuid.UUID
    order_id: uuid.UUID
    payment_id: uuid.UUID
    tender: str
    amount: int
    currency: str
    reason: str
    status: str

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.order_id


@dataclass(frozen=True, slots=True)
class OrderLinesRefunded:
    """A refund request by line amounts went through (once per request, never on a
    replay), whoever asked: the order center's after-sale flow or ``refundPayment``.
    The order center handles it in the same transaction and counts the amounts as
    refunded on its lines (decision 0080), so the order's and the payment's money views
    never disagree. ``line_amounts`` maps the payment's line ids (the order's
    ``order_line_id``/``delivery_fee_id``, as strings) to the amounts refunded."""

    topic: ClassVar[str] = "payment.order_lines_refunded"
    order_id: uuid.UUID
    request_key: str
    reason: str
    amount: int
    currency: str
    line_amounts: dict[str, int]

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.order_id


@dataclass(frozen=True, slots=True)
class OrderLinesRefundFailed:
    """The provider refused a refund that ``payment.order_lines_refunded`` had counted
    on the order's lines: the money is still the buyer's to get back. The order center
    handles it in the same transaction and takes the amounts off its lines again, so the
    two money views keep agreeing; an after-sale request it came from waits for a retry.
    ``request_key`` is the refund request's (``order_lines_refunded``'s) key."""

    topic: ClassVar[str] = "payment.order_lines_refund_failed"
    order_id: uuid.UUID
    request_key: str
    refund_id: uuid.UUID
    amount: int
    currency: str
    line_amounts: dict[str, int]

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.order_id
