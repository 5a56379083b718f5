"""Events the store center publishes (topic ``store.*``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class TenantCreated:
    topic: ClassVar[str] = "store.tenant_created"
    tenant_id: uuid.UUID
    slug: str

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.tenant_id


@dataclass(frozen=True, slots=True)
class StoreCreated:
    topic: ClassVar[str] = "store.store_created"
    store_id: uuid.UUID
    code: str
    name: str

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.store_id
