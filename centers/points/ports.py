"""Ports plugins implement for the points center."""

from __future__ import annotations

import uuid
from typing import Protocol


class PointsSync(Protocol):
    """The tenant's CRM, which shows members their points balance."""

    async def balance_changed(
        self, member_id: uuid.UUID, balance: int, entry_id: uuid.UUID
    ) -> None:
        """Push a new balance; must be idempotent by ``entry_id`` and ignore stale entries."""
        ...
