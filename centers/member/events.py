"""Events the member center publishes (topic ``member.*``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class MemberRegistered:
    topic: ClassVar[str] = "member.registered"
    member_id: uuid.UUID
    phone: str
    display_name: str

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.member_id
