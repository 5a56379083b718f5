"""Ports plugins implement for the points center."""

from __future__ import annotations

from typing import Protocol

from centers.points.dto import PointsEntryInfo


class PointsSync(Protocol):
    """Keeps the points balance the tenant's CRM shows its members current."""

    async def balance_changed(self, entry: PointsEntryInfo) -> None:
        """Called after each ledger entry with the balance it left (``entry.balance_after``);
        must be idempotent by ``entry.id`` and ignore an entry older than the last one
        applied for the member (delivery is at least once, not in order)."""
        ...
