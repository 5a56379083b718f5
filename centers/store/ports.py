"""Ports plugins implement for the store center."""

from __future__ import annotations

from typing import Protocol

from centers.store.dto import StoreInfo


class StoreDirectory(Protocol):
    """Pushes master data about stores to a tenant's POS or ERP (主数据下发)."""

    async def store_changed(self, store: StoreInfo) -> None:
        """Called after a store is created or changed; must be idempotent by store id."""
        ...
