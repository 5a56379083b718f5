"""Events the promotion center publishes (topic ``promotion.*``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class PromotionActivityCreated:
    topic: ClassVar[str] = "promotion.activity_created"
    activity_id: uuid.UUID
    name: str
    kind: str
    starts_at: datetime
    ends_at: datetime

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.activity_id
