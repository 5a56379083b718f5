"""Frozen values the points center hands to other centers (re-exported by ``api``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PointsEntryInfo:
    id: uuid.UUID
    member_id: uuid.UUID
    delta: int
    balance_after: int
    reason: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PointsRedemptionTerms:
    """How a member may spend points as a discount now (积分抵现)."""

    unit_points: int  # redeem in multiples of this many points…
    unit_value: int  # …each multiple worth this many minor units
    max_bp: int  # at most this share (basis points) of what is left to pay
    balance: int  # the member's balance now


@dataclass(frozen=True, slots=True)
class PointsRules:
    """A tenant's points rules (积分规则)."""

    earn_points: int  # earn this many points…
    earn_per_amount: int  # …per this many minor units paid
    redeem_unit_points: int
    redeem_unit_value: int
    redeem_max_bp: int
    expiry_days: int | None  # None: points never expire
