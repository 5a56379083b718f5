"""Frozen values the store center hands to other centers (re-exported by ``api``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TenantInfo:
    id: uuid.UUID
    slug: str
    name: str
    currency: str


@dataclass(frozen=True, slots=True)
class StoreInfo:
    id: uuid.UUID
    tenant_id: uuid.UUID
    code: str
    name: str
    timezone: str
