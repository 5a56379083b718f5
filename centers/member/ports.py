"""Ports plugins implement for the member center."""

from __future__ import annotations

from typing import Protocol

from centers.member.dto import MemberInfo


class CrmSync(Protocol):
    """Keeps the tenant's CRM in step with its members (会员同步)."""

    async def member_changed(self, member: MemberInfo) -> None:
        """Called after a member is registered or changed; must be idempotent by
        ``member.id`` (delivery is at least once)."""
        ...
