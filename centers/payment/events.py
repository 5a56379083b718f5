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
