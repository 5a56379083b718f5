"""Events the product center publishes (topic ``product.*``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class ProductCreated:
    topic: ClassVar[str] = "product.created"
    product_id: uuid.UUID
    name: str
    sku_ids: list[uuid.UUID]

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.product_id


@dataclass(frozen=True, slots=True)
class ProductUpdated:
    """A product or its SKUs changed (edited, imported, or synced from the ERP)."""

    topic: ClassVar[str] = "product.updated"
    product_id: uuid.UUID
    sku_ids: list[uuid.UUID]

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.product_id
