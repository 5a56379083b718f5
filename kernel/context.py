"""The per-request context every resolver and loader reaches through ``info.context``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from kernel.authn import Principal
from kernel.authz.audit import DENIED, AuditEntry
from kernel.authz.enforcers import PolicyStore, TenantPolicy
from kernel.authz.permissions import Authenticated, Permission, Requirement
from kernel.authz.stores import StoreScope
from kernel.db import Database
from kernel.errors import ForbiddenError
from kernel.plugins.registry import PluginRegistry
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
    # The plugins this process serves (None: the installed entry points).
    plugins: PluginRegistry | None = None
    # What ``authorize`` refused during this request (and at which store), for the audit log.
    denials: list[Permission] = field(default_factory=list)
    store_denials: list[tuple[Permission, uuid.UUID]] = field(default_factory=list)
    # ``_entities`` representations asked for so far (max_entity_representations).
    entity_representations: int = 0
    _session: AsyncSession | None = None
    _loaders: dict[Hashable, Any] = field(default_factory=dict)
    # Decisions taken during this request, by (permission, store): a field asked once
    # per object of a page is decided once per request (the policy snapshot is fixed).
    _decided: dict[tuple[Requirement, uuid.UUID | None], bool] = field(default_factory=dict)
    _scopes: dict[Permission, StoreScope] = field(default_factory=dict)

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
        decided = self._decided.get((requirement, None))
        if decided is None:
            decided = isinstance(requirement, Authenticated) or self.policy.allows(
                self.principal.subject, requirement
            )
            self._decided[(requirement, None)] = decided
        return decided

    def authorize(self, requirement: Requirement) -> None:
        if not self.allows(requirement):
            if isinstance(requirement, Permission):
                self.denials.append(requirement)
            raise ForbiddenError(
                f"not allowed: {requirement}"
                if isinstance(requirement, Permission)
                else "not allowed"
            )

    def refuse(self, permission: Permission) -> NoReturn:
        """Deny ``permission`` here: record it for the audit log and raise FORBIDDEN."""
        self.denials.append(permission)
        raise ForbiddenError(f"not allowed: {permission}")

    def allows_at(self, permission: Permission, store_id: uuid.UUID | None) -> bool:
        """On a resource of ``store_id``: a tenant-wide grant, or a role held at that
        store that conveys ``permission`` (``None``: the resource has no store)."""
        if store_id is None:
            return self.allows(permission)
        decided = self._decided.get((permission, store_id))
        if decided is None:
            decided = self.policy.allows_at(self.principal.subject, permission, store_id)
            self._decided[(permission, store_id)] = decided
        return decided

    def authorize_at(self, permission: Permission, store_id: uuid.UUID | None) -> None:
        if store_id is None:
            self.authorize(permission)
            return
        if not self.allows_at(permission, store_id):
            self.store_denials.append((permission, store_id))
            raise ForbiddenError(f"not allowed: {permission}")

    def stores(self, permission: Permission) -> StoreScope:
        """Where the caller has ``permission``: ``EVERY_STORE`` or a set of stores
        (maybe empty), for list filters (``store_id = ANY(:stores)``)."""
        scope = self._scopes.get(permission)
        if scope is None:
            scope = self._scopes[permission] = self.policy.stores(
                self.principal.subject, permission
            )
        return scope

    def record_denials(self) -> None:
        """Queue this request's denials for the audit log (call once, when it ends)."""
        if not (self.denials or self.store_denials) or self.policies is None:
            return
        principal = self.principal
        entries = []
        refused: list[tuple[Permission, uuid.UUID | None]] = [
            *((p, None) for p in self.denials),
            *self.store_denials,
        ]
        for permission, store_id in dict.fromkeys(refused):
            explained = self.policy.explain(principal.subject, permission, store_id)
            detail = {"apiKey": str(principal.key_id)} if principal.key_id else {}
            if store_id is not None:
                detail["storeId"] = str(store_id)
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
                    detail=detail,
                )
            )
        self.denials.clear()
        self.store_denials.clear()
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
