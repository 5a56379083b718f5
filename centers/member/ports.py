"""Ports plugins implement for the member center."""

from __future__ import annotations

from typing import Protocol

from centers.member.dto import MemberInfo


class CrmSync(Protocol):
    """The tenant's CRM, kept in step with members both ways."""

    async def member_changed(self, member: MemberInfo) -> None:
        """Push a created or updated member; must be idempotent by ``member.id``."""
        ...
