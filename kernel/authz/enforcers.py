"""Per-tenant Casbin enforcers: built on demand, kept in an LRU, rebuilt and swapped.

An enforcer is never changed in place: a policy change (NOTIFY from the trigger on
``kernel.policy_rule``) drops the tenant's snapshot, and the next request builds a new
one while in-flight requests finish on the old. A generation counter keeps a build
that raced a change from installing stale rules. Decisions are memoized inside each
snapshot, so the cache is keyed by the tenant's policy version for free.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import casbin

from kernel.authz.audit import AuditWriter
from kernel.authz.permissions import (
    PLATFORM_DOMAIN,
    PLATFORM_ROLES,
    SUBJECT,
    Permission,
    role_subject,
)
from kernel.authz.rules import PLATFORM_TENANT, PolicyRow, load_rows, load_version
from kernel.authz.stores import (
    EVERY_STORE,
    StorePermissions,
    StoreScope,
    any_store_scope,
    store_scope,
    tenant_scope,
)
from kernel.db import Database

log = logging.getLogger(__name__)

MODEL_TEXT = (Path(__file__).parent / "model.conf").read_text()
NOTIFY_CHANNEL = "zhongtai_policy"


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a subject may or may not do something in a tenant, at a policy version."""

    allowed: bool
    matched_rule: str
    roles: tuple[str, ...]
    policy_version: int


DEFAULT_DENY = "default deny: no rule allows it"
NO_STORE_PERMISSIONS = StorePermissions()


class TenantPolicy:
    """An immutable snapshot of one tenant's rules with its decision memo."""

    def __init__(
        self,
        tenant_id: uuid.UUID,
        version: int,
        enforcer: Any,
        *,
        scopes: StorePermissions = NO_STORE_PERMISSIONS,
        stores_held: Mapping[str, frozenset[uuid.UUID]] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        # The tenant's policy version (kernel.policy_version) when the rules were read.
        self.version = version
        self._domain = tenant_scope(tenant_id)
        self._enforcer = enforcer
        self._scopes = scopes
        # Subject -> the stores where it holds a role (kernel.authz.stores).
        self._stores_held = stores_held if stores_held is not None else {}
        self._decisions: dict[tuple[str, str, Permission], bool] = {}

    def decide(self, subject: str, obj: str, action: str) -> bool:
        """A decision on raw strings: anything malformed (a wildcard, a comma, a blank,
        a role or domain posing as a subject) is denied before Casbin sees it."""
        if not isinstance(subject, str) or not SUBJECT.fullmatch(subject):
            return False
        try:
            permission = Permission(obj, action)
        except (TypeError, ValueError):
            return False
        return self.allows(subject, permission)

    def _scope_for(self, subject: str, permission: Permission, store_id: uuid.UUID | None) -> str:
        """The grouping scope that decides ``permission`` (at ``store_id``, if given)."""
        held = self._stores_held.get(subject)
        if not held:
            return self._domain
        if store_id is not None and permission in self._scopes.at_store and store_id in held:
            return store_scope(self.tenant_id, store_id)
        if permission in self._scopes.shared:
            return any_store_scope(self.tenant_id)
        return self._domain

    def explain(
        self, subject: str, permission: Permission, store_id: uuid.UUID | None = None
    ) -> Explanation:
        """The decision with the rule that made it and the subject's roles."""
        scope = self._scope_for(subject, permission, store_id)
        try:
            allowed, rule = self._enforcer.enforce_ex(
                subject, self._domain, scope, permission.object, permission.action
            )
            tenant_wide = self._enforcer.get_roles_for_user_in_domain(subject, self._domain)
            roles = [
                *tenant_wide,
                *(
                    f"{role} (store {store})"
                    for store in sorted(self._stores_held.get(subject, ()), key=str)
                    for role in self._enforcer.get_roles_for_user_in_domain(
                        subject, store_scope(self.tenant_id, store)
                    )
                    # A store's grouping scope also holds the tenant-wide roles.
                    if role not in tenant_wide
                ),
                *(
                    f"{role} (platform)"
                    for member, role in self._enforcer.get_named_grouping_policy("g2")
                    if member == subject
                ),
            ]
        except Exception:  # fail closed, and say so
            log.exception("casbin explain failed; denying")
            return Explanation(False, "authorization error: denied", (), self.version)
        if rule:
            sub, dom, obj, act, effect = rule
            where = "platform" if dom == "platform" else "tenant"
            if scope != self._domain and effect == "allow":
                where = "held at a store" if store_id is None else f"at store {store_id}"
            matched = f"{effect} {sub} {obj}:{act} ({where})"
        else:
            matched = DEFAULT_DENY
        return Explanation(bool(allowed), matched, tuple(sorted(roles)), self.version)

    def allows(self, subject: str, permission: Permission) -> bool:
        """Tenant-wide: what a root field without a store asks (store permissions held
        only at stores do not count; shared ones do)."""
        return self._decide(subject, self._scope_for(subject, permission, None), permission)

    def allows_at(self, subject: str, permission: Permission, store_id: uuid.UUID) -> bool:
        """On a resource of ``store_id``: tenant-wide grants, or the roles held there."""
        return self._decide(subject, self._scope_for(subject, permission, store_id), permission)

    def stores(self, subject: str, permission: Permission) -> StoreScope:
        """Every store where ``subject`` has ``permission``: ``EVERY_STORE`` when it
        holds it tenant-wide, else the stores whose held roles convey it (maybe none)."""
        if self.allows(subject, permission):
            return EVERY_STORE
        if permission not in self._scopes.at_store:
            return frozenset()
        return frozenset(
            store
            for store in self._stores_held.get(subject, ())
            if self._decide(subject, store_scope(self.tenant_id, store), permission)
        )

    def _decide(self, subject: str, scope: str, permission: Permission) -> bool:
        key = (subject, scope, permission)
        decision = self._decisions.get(key)
        if decision is None:
            try:
                decision = bool(
                    self._enforcer.enforce(
                        subject, self._domain, scope, permission.object, permission.action
                    )
                )
            except Exception:  # fail closed on any authorization error
                log.exception("casbin enforce failed; denying")
                decision = False
            if len(self._decisions) < 10_000:
                self._decisions[key] = decision
        return decision


def build_policy(
    tenant_id: uuid.UUID,
    version: int,
    grants: Mapping[str, Sequence[Permission]],
    rows: Sequence[PolicyRow],
    scopes: StorePermissions = NO_STORE_PERMISSIONS,
) -> TenantPolicy:
    """A tenant's snapshot from the built-in grants and its stored rows."""
    return TenantPolicy(
        tenant_id,
        version,
        build_enforcer(tenant_id, grants, rows),
        scopes=scopes,
        stores_held=stores_held(rows),
    )


def stores_held(rows: Sequence[PolicyRow]) -> dict[str, frozenset[uuid.UUID]]:
    held: dict[str, set[uuid.UUID]] = {}
    for row in rows:
        if row.ptype == "g" and row.store_id is not None:
            held.setdefault(row.subject, set()).add(row.store_id)
    return {subject: frozenset(stores) for subject, stores in held.items()}


def build_enforcer(
    tenant_id: uuid.UUID,
    grants: Mapping[str, Sequence[Permission]],
    rows: Sequence[PolicyRow],
) -> Any:
    model = casbin.Enforcer.new_model(text=MODEL_TEXT)
    enforcer = casbin.Enforcer(model)
    domain = tenant_scope(tenant_id)
    everywhere = any_store_scope(tenant_id)
    policies: list[list[str]] = []
    for role, permissions in grants.items():
        role_domain = PLATFORM_DOMAIN if role in PLATFORM_ROLES else domain
        policies.extend(
            [role_subject(role), role_domain, p.object, p.action, "allow"] for p in permissions
        )
    tenant_roles: dict[str, list[str]] = {}
    store_roles: list[tuple[str, str, uuid.UUID]] = []
    platform_groupings: list[list[str]] = []
    for row in rows:
        if row.ptype == "p":
            policies.append([row.subject, domain, row.object, row.action, row.effect])
        elif row.ptype == "g":
            if row.store_id is None:
                tenant_roles.setdefault(row.subject, []).append(row.object)
            else:
                store_roles.append((row.subject, row.object, row.store_id))
        elif row.ptype == "g2":
            platform_groupings.append([row.subject, row.object])
    groupings: set[tuple[str, str, str]] = set()
    for subject, roles in tenant_roles.items():
        for role in roles:
            groupings.add((subject, role, domain))
            groupings.add((subject, role, everywhere))
    for subject, role, store in store_roles:
        here = store_scope(tenant_id, store)
        groupings.add((subject, role, here))
        groupings.add((subject, role, everywhere))
        # At a store the subject also keeps what it holds tenant-wide.
        groupings.update((subject, held, here) for held in tenant_roles.get(subject, ()))
    if policies:
        enforcer.add_policies(policies)
    if groupings:
        enforcer.add_named_grouping_policies("g", [list(g) for g in sorted(groupings)])
    if platform_groupings:
        enforcer.add_named_grouping_policies("g2", platform_groupings)
    return enforcer


class PolicyStore:
    def __init__(
        self,
        db: Database,
        grants: Mapping[str, Sequence[Permission]],
        capacity: int = 1024,
        store_permissions: StorePermissions = NO_STORE_PERMISSIONS,
    ) -> None:
        self._db = db
        self._grants = grants
        self._store_permissions = store_permissions
        self._capacity = capacity
        self._snapshots: OrderedDict[uuid.UUID, TenantPolicy] = OrderedDict()
        self._generations: dict[uuid.UUID, int] = {}
        self._global_generation = 0
        self._builds: dict[uuid.UUID, asyncio.Future[TenantPolicy]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._known: set[Permission] = {p for granted in grants.values() for p in granted}
        # Denials are evidence; they are written off the request path (kernel.authz.audit).
        self.audit = AuditWriter(db)

    @property
    def grants(self) -> Mapping[str, Sequence[Permission]]:
        """The built-in roles' grants, from the centers' ``policy.py``."""
        return self._grants

    def declare(self, permissions: Iterable[Permission]) -> None:
        """Add permissions root fields require (admins may grant only known ones)."""
        self._known.update(permissions)

    @property
    def store_permissions(self) -> StorePermissions:
        """What roles held at a store convey (the centers' ``policy.py``)."""
        return self._store_permissions

    @property
    def known_permissions(self) -> frozenset[Permission]:
        return frozenset(self._known)

    async def for_tenant(self, tenant_id: uuid.UUID) -> TenantPolicy:
        snapshot = self._snapshots.get(tenant_id)
        if snapshot is not None:
            self._snapshots.move_to_end(tenant_id)
            return snapshot
        pending = self._builds.get(tenant_id)
        if pending is None:
            pending = asyncio.ensure_future(self._build(tenant_id))
            self._builds[tenant_id] = pending
            pending.add_done_callback(lambda _f: self._builds.pop(tenant_id, None))
        return await asyncio.shield(pending)

    @property
    def full_reloads(self) -> int:
        """How many times every snapshot was dropped (platform change, reconnect)."""
        return self._global_generation

    def _generation(self, tenant_id: uuid.UUID) -> tuple[int, int]:
        return (self._global_generation, self._generations.get(tenant_id, 0))

    async def _build(self, tenant_id: uuid.UUID) -> TenantPolicy:
        while True:
            generation = self._generation(tenant_id)
            # Read behind the tenant wall, like any request of this tenant.
            async with self._db.session_for(tenant_id) as session:
                rows = await load_rows(session, tenant_id)
                version = await load_version(session, tenant_id)
            snapshot = build_policy(tenant_id, version, self._grants, rows, self._store_permissions)
            if generation != self._generation(tenant_id):
                continue  # rules changed while we read them: read again
            self._snapshots[tenant_id] = snapshot
            while len(self._snapshots) > self._capacity:
                self._snapshots.popitem(last=False)
            return snapshot

    def invalidate(self, tenant_id: uuid.UUID | None = None) -> None:
        """Drop a tenant's snapshot (or all, for ``None``/platform rows)."""
        if tenant_id is None or tenant_id == PLATFORM_TENANT:
            self._global_generation += 1
            self._snapshots.clear()
            return
        self._generations[tenant_id] = self._generations.get(tenant_id, 0) + 1
        self._snapshots.pop(tenant_id, None)

    # --- propagation across processes -------------------------------------------------

    def start_listening(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="policy-listener")
        self.audit.start()

    async def stop_listening(self) -> None:
        await self.audit.stop()
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None

    async def _listen(self) -> None:
        backoff = 0.5
        while True:
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(self._db.listen_dsn)
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await connection.add_listener(NOTIFY_CHANNEL, self._on_notify)
                # Changes made while we were not listening are unknown: reload all.
                self.invalidate(None)
                backoff = 0.5
                try:
                    await lost.wait()
                finally:
                    await connection.close()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("policy listener disconnected; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self.invalidate(uuid.UUID(payload))
        except ValueError:
            self.invalidate(None)
