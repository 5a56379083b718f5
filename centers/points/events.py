"""Events the points center publishes (topic ``points.*``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class PointsAdjusted:
    topic: ClassVar[str] = "points.adjusted"
    entry_id: uuid.UUID
    member_id: uuid.UUID
    delta: int
    balance_after: int
    reason: str

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.member_id
