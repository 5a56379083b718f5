"""Identifiers: time-ordered UUIDs for rows, unguessable numbers for orders."""

from __future__ import annotations

import os
import secrets
import time
import uuid
from datetime import UTC, datetime


def new_id() -> uuid.UUID:
    """A UUIDv7: time-ordered, so new rows land at the end of B-tree indexes."""
    unix_ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def new_order_number(now: datetime | None = None) -> str:
    """A receipt-readable order number: ``YYMMDD`` plus 10 random digits.

    Sortable by day, unique per tenant (enforced by a unique index, retried on the
    rare collision) and not sequential, so nobody can estimate a brand's volume from
    two receipts.
    """
    moment = now or datetime.now(UTC)
    return moment.strftime("%y%m%d") + f"{secrets.randbelow(10**10):010d}"
