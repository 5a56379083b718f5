"""The per-request context every resolver and loader reaches through ``info.context``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from kernel.authn import Principal
from kernel.authz.audit import DENIED, AuditEntry
from kernel.authz.enforcers import PolicyStore, TenantPolicy
from kernel.authz.permissions import Authenticated, Permission, Requirement
from kernel.db import Database
from kernel.errors import ForbiddenError
from kernel.settings import Settings

LoaderT = TypeVar("LoaderT")


@dataclass
class RequestContext:
    principal: Principal
    policy: TenantPolicy
    db: Database
    request_id: str
    # The operation is exactly one mutation field: its userErrors may simply roll the
    # request back instead of paying for a savepoint.
    sole_mutation: bool = False
    rollback_only: bool = False
    # The process's policy store (admin fields reach the known permissions through it).
    policies: PolicyStore | None = None
    settings: Settings | None = None
    # What ``authorize`` refused during this request, for the audit log.
    denials: list[Permission] = field(default_factory=list)
    _session: AsyncSession | None = None
    _loaders: dict[Hashable, Any] = field(default_factory=dict)

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.principal.tenant_id

    @property
    def subject(self) -> str:
        """The caller, namespaced (``user:…``/``sa:…``): what ownership filters compare."""
        return self.principal.subject

    @property
    def session(self) -> AsyncSession:
        """The request's unit of work; its transaction commits when the request ends."""
        if self._session is None:
            self._session = self.db.session_for(self.principal.tenant_id)
        return self._session

    def allows(self, requirement: Requirement) -> bool:
        if isinstance(requirement, Authenticated):
            return True
        return self.policy.allows(self.principal.subject, requirement)

    def authorize(self, requirement: Requirement) -> None:
        if not self.allows(requirement):
            if isinstance(requirement, Permission):
                self.denials.append(requirement)
            raise ForbiddenError(
                f"not allowed: {requirement}"
                if isinstance(requirement, Permission)
                else "not allowed"
            )

    def record_denials(self) -> None:
        """Queue this request's denials for the audit log (call once, when it ends)."""
        if not self.denials or self.policies is None:
            return
        principal = self.principal
        entries = []
        for permission in dict.fromkeys(self.denials):
            explained = self.policy.explain(principal.subject, permission)
            entries.append(
                AuditEntry(
                    tenant_id=principal.tenant_id,
                    request_id=self.request_id,
                    subject=principal.subject,
                    object=permission.object,
                    action=permission.action,
                    result=DENIED,
                    matched_rule=explained.matched_rule,
                    policy_version=explained.policy_version,
                    detail={"apiKey": str(principal.key_id)} if principal.key_id else {},
                )
            )
        self.denials.clear()
        self.policies.audit.record(entries)

    def loader(self, key: Hashable, factory: Callable[[], LoaderT]) -> LoaderT:
        """One DataLoader per key per request, so every relation is batched and cached."""
        existing = self._loaders.get(key)
        if existing is None:
            existing = factory()
            self._loaders[key] = existing
        loader: LoaderT = existing
        return loader

    async def finish(self, *, commit: bool) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            if commit:
                await session.commit()
            else:
                await session.rollback()
        finally:
            await session.close()
