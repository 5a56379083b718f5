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
    # Defaulted: events written before the field existed still read back.
    timezone: str = ""

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.store_id


@dataclass(frozen=True, slots=True)
class StoreChanged:
    """A store's master data after a change (the whole record, so a consumer can
    overwrite its copy by ``store_id`` without reading anything back)."""

    topic: ClassVar[str] = "store.store_changed"
    store_id: uuid.UUID
    code: str
    name: str
    timezone: str

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.store_id
