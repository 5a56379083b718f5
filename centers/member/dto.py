"""Frozen values the member center hands to other centers (re-exported by ``api``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class MemberInfo:
    id: uuid.UUID
    tenant_id: uuid.UUID
    phone: str
    display_name: str
    level: int
    created_at: datetime
