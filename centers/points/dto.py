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
