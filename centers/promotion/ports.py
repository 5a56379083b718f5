"""Ports plugins implement for the promotion center."""

from __future__ import annotations

from typing import Protocol

from centers.promotion.dto import ExternalPromotionPage


class PromotionSync(Protocol):
    """Imports promotion activities from a tenant's ERP or POS (促销同步).

    One instance serves one tenant (plugins are configured per tenant), so no method
    takes a tenant id.
    """

    async def pull_activities(self, cursor: str | None, limit: int) -> ExternalPromotionPage:
        """Up to ``limit`` activities created or changed after ``cursor``, oldest change first.

        ``cursor`` is the ``next_cursor`` of the previous page, or ``None`` to start from
        the beginning. Must not skip changes between pages; repeating some is fine,
        because imports are idempotent by ``external_id`` and ordered by ``source_version``.
        """
        ...
