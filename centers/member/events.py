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


@dataclass(frozen=True, slots=True)
class MemberLevelChanged:
    """A member moved to another level (会员等级变更): growth added, or a level redefined
    (``setMemberLevel``) so the member's growth reaches another one; emitted in that same
    transaction. ``growth`` is the member's growth value then."""

    topic: ClassVar[str] = "member.level_changed"
    member_id: uuid.UUID
    from_level: int
    to_level: int
    growth: int

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.member_id
