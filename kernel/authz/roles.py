"""Administering a tenant's access: roles, grants and role assignments.

Every write validates its identifiers (no commas, wildcards, blanks or other
separators that could forge a Casbin rule; no domain ever named by the caller: the
tenant is the admin's own), is audited in the same transaction, and returns the
tenant's new policy version. The trigger on ``kernel.policy_rule`` bumps the version
and NOTIFYs every server process, which rebuilds that tenant's enforcer.

Built-in roles carry the grants the centers declare in ``policy.py``. Granting a
built-in role something it lacks adds an allow row; revoking one of its declared
grants adds a deny row for the role (deny overrides allow, so the permission is also
denied to anyone holding that role alongside another that grants it).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.authz.audit import CHANGED, AuditEntry, record_change
from kernel.authz.permissions import BUILTIN_ROLES, PLATFORM_ROLES, SUBJECT, Permission
from kernel.authz.rules import (
    assign_role,
    delete_rows,
    load_version,
    metadata,
    policy_rule,
    set_rule,
)
from kernel.errors import UserInputError

access_role = sa.Table(
    "access_role",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("description", sa.String(500), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

ROLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
SERVICE_ACCOUNT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
TENANT_ROLES = tuple(r for r in BUILTIN_ROLES if r not in PLATFORM_ROLES)
# Built-in roles that make no sense held at one store.
NOT_AT_A_STORE = ("tenant_admin", "customer")


def check_role_name(name: str, field: Sequence[str]) -> str:
    if not isinstance(name, str) or not ROLE_NAME.fullmatch(name):
        raise UserInputError(
            "a role name is 1-63 characters: a lowercase letter, then lowercase letters, "
            "digits or underscores",
            code="INVALID_ROLE_NAME",
            field=field,
        )
    return name


def check_subject(subject: str, field: Sequence[str]) -> str:
    if not isinstance(subject, str) or not SUBJECT.fullmatch(subject):
        raise UserInputError(
            "a subject is user:<id> or sa:<id>; the id has letters, digits and ._@|+- only",
            code="INVALID_SUBJECT",
            field=field,
        )
    return subject


def _detail(subject: str, role: str, store_id: uuid.UUID | None) -> dict[str, str]:
    detail = {"subject": subject, "role": role}
    if store_id is not None:
        detail["storeId"] = str(store_id)
    return detail


@dataclass(frozen=True, slots=True)
class RoleView:
    name: str
    builtin: bool
    description: str
    granted: tuple[Permission, ...]
    denied: tuple[Permission, ...]


@dataclass(frozen=True, slots=True)
class Assignment:
    subject: str
    role: str
    store_id: uuid.UUID | None = None  # None: tenant-wide


class StoreLookup(Protocol):
    async def get_store(
        self, session: AsyncSession, tenant_id: uuid.UUID, store_id: uuid.UUID
    ) -> object | None: ...


class AccessAdmin:
    """One admin's changes to one tenant's access, inside the caller's transaction."""

    def __init__(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        actor: str,
        request_id: str,
        known: frozenset[Permission],
        builtin_grants: Mapping[str, Sequence[Permission]],
        stores: StoreLookup | None = None,
    ) -> None:
        self._session = session
        self._stores = stores
        self._tenant_id = tenant_id
        self._actor = actor
        self._request_id = request_id
        self._known = known
        self._builtin = builtin_grants

    # --- reads ------------------------------------------------------------------------

    async def version(self) -> int:
        return await load_version(self._session, self._tenant_id)

    async def custom_roles(self) -> dict[str, str]:
        rows = await self._session.execute(
            sa.select(access_role.c.name, access_role.c.description)
            .where(access_role.c.tenant_id == self._tenant_id)
            .order_by(access_role.c.name)
        )
        return {name: description for name, description in rows.all()}

    async def roles(self) -> list[RoleView]:
        custom = await self.custom_roles()
        rows = (
            await self._session.execute(
                sa.select(
                    policy_rule.c.subject,
                    policy_rule.c.object,
                    policy_rule.c.action,
                    policy_rule.c.effect,
                ).where(
                    policy_rule.c.tenant_id == self._tenant_id,
                    policy_rule.c.ptype == "p",
                    policy_rule.c.subject.like("role:%"),
                )
            )
        ).all()
        allowed: dict[str, set[Permission]] = {}
        denied: dict[str, set[Permission]] = {}
        for subject, obj, action, effect in rows:
            target = allowed if effect == "allow" else denied
            target.setdefault(subject.removeprefix("role:"), set()).add(Permission(obj, action))
        views = []
        for name in (*TENANT_ROLES, *custom):
            declared = set(self._builtin.get(name, ()))
            granted = (declared | allowed.get(name, set())) - denied.get(name, set())
            views.append(
                RoleView(
                    name=name,
                    builtin=name in TENANT_ROLES,
                    description=custom.get(name, "built-in role"),
                    granted=tuple(sorted(granted, key=str)),
                    denied=tuple(sorted(denied.get(name, set()), key=str)),
                )
            )
        return views

    async def assignments(
        self, subject: str | None = None, store_id: uuid.UUID | None = None
    ) -> list[Assignment]:
        """Role assignments, tenant-wide and per store; ``store_id`` keeps those that
        apply at that store (its own and the tenant-wide ones)."""
        query = sa.select(
            policy_rule.c.subject, policy_rule.c.object, policy_rule.c.store_id
        ).where(policy_rule.c.tenant_id == self._tenant_id, policy_rule.c.ptype == "g")
        if subject is not None:
            query = query.where(policy_rule.c.subject == check_subject(subject, ["subject"]))
        if store_id is not None:
            query = query.where(
                sa.or_(policy_rule.c.store_id.is_(None), policy_rule.c.store_id == store_id)
            )
        rows = await self._session.execute(
            query.order_by(
                policy_rule.c.subject, policy_rule.c.store_id.nulls_first(), policy_rule.c.object
            )
        )
        return [Assignment(s, role.removeprefix("role:"), store) for s, role, store in rows.all()]

    # --- writes -----------------------------------------------------------------------

    async def create_role(self, name: str, description: str = "") -> int:
        check_role_name(name, ["input", "name"])
        if name in BUILTIN_ROLES or name in await self.custom_roles():
            raise UserInputError(
                f"role {name!r} exists", code="ROLE_EXISTS", field=["input", "name"]
            )
        if len(description) > 500:
            raise UserInputError(
                "description is at most 500 characters",
                code="INVALID_DESCRIPTION",
                field=["input", "description"],
            )
        await self._session.execute(
            sa.insert(access_role).values(
                tenant_id=self._tenant_id,
                name=name,
                description=description.strip(),
                created_at=datetime.now(UTC),
            )
        )
        return await self._audited("access.role", "create", {"role": name})

    async def rename_role(self, name: str, new_name: str) -> int:
        await self._custom_role(name, ["input", "name"])
        check_role_name(new_name, ["input", "newName"])
        if new_name in BUILTIN_ROLES or new_name in await self.custom_roles():
            raise UserInputError(
                f"role {new_name!r} exists", code="ROLE_EXISTS", field=["input", "newName"]
            )
        tenant = policy_rule.c.tenant_id == self._tenant_id
        await self._session.execute(
            sa.update(access_role)
            .where(access_role.c.tenant_id == self._tenant_id, access_role.c.name == name)
            .values(name=new_name)
        )
        await self._session.execute(
            sa.update(policy_rule)
            .where(tenant, policy_rule.c.ptype == "p", policy_rule.c.subject == f"role:{name}")
            .values(subject=f"role:{new_name}")
        )
        await self._session.execute(
            sa.update(policy_rule)
            .where(tenant, policy_rule.c.ptype == "g", policy_rule.c.object == f"role:{name}")
            .values(object=f"role:{new_name}")
        )
        from kernel.authz.apikeys import api_key  # the keys name their role

        await self._session.execute(
            sa.update(api_key)
            .where(api_key.c.tenant_id == self._tenant_id, api_key.c.role == name)
            .values(role=new_name)
        )
        return await self._audited("access.role", "rename", {"role": name, "newName": new_name})

    async def delete_role(self, name: str) -> int:
        await self._custom_role(name, ["input", "name"])
        await delete_rows(self._session, self._tenant_id, "p", subject=f"role:{name}")
        await delete_rows(self._session, self._tenant_id, "g", obj=f"role:{name}")
        await self._session.execute(
            sa.delete(access_role).where(
                access_role.c.tenant_id == self._tenant_id, access_role.c.name == name
            )
        )
        return await self._audited("access.role", "delete", {"role": name})

    async def grant(self, role: str, obj: str, action: str) -> int:
        permission = await self._grantable(role, obj, action)
        subject = f"role:{role}"
        await delete_rows(
            self._session, self._tenant_id, "p", subject=subject, obj=obj, action=action,
            effect="deny",
        )  # fmt: skip
        if permission not in self._builtin.get(role, ()):
            await set_rule(self._session, self._tenant_id, subject, permission, "allow")
        return await self._audited(
            "access.grant", "grant", {"role": role, "permission": str(permission)}
        )

    async def revoke(self, role: str, obj: str, action: str) -> int:
        permission = await self._grantable(role, obj, action)
        subject = f"role:{role}"
        await delete_rows(
            self._session, self._tenant_id, "p", subject=subject, obj=obj, action=action,
            effect="allow",
        )  # fmt: skip
        if permission in self._builtin.get(role, ()):
            await set_rule(self._session, self._tenant_id, subject, permission, "deny")
        return await self._audited(
            "access.grant", "revoke", {"role": role, "permission": str(permission)}
        )

    async def assign(self, subject: str, role: str, store_id: uuid.UUID | None = None) -> int:
        """Give ``subject`` the role tenant-wide, or at one store (``store_id``); the two
        are separate assignments, and holding it tenant-wide already covers every store."""
        check_subject(subject, ["input", "subject"])
        await self._tenant_role(role, ["input", "role"])
        if store_id is not None:
            await self._store(store_id, ["input", "storeId"])
            if role in NOT_AT_A_STORE:
                raise UserInputError(
                    f"{role} is held tenant-wide only: tenant_admin administers the whole "
                    "tenant, and a customer buys from every store",
                    code="ROLE_NOT_STORE_SCOPED",
                    field=["input", "role"],
                )
        await assign_role(self._session, self._tenant_id, subject, role, store_id=store_id)
        return await self._audited("access.assignment", "assign", _detail(subject, role, store_id))

    async def unassign(self, subject: str, role: str, store_id: uuid.UUID | None = None) -> int:
        """Remove exactly that assignment (tenant-wide, or at ``store_id``)."""
        check_subject(subject, ["input", "subject"])
        await self._tenant_role(role, ["input", "role"])
        await delete_rows(
            self._session,
            self._tenant_id,
            "g",
            subject=subject,
            obj=f"role:{role}",
            store_id=store_id,
        )
        return await self._audited(
            "access.assignment", "unassign", _detail(subject, role, store_id)
        )

    # --- helpers ----------------------------------------------------------------------

    async def _store(self, store_id: uuid.UUID, field: Sequence[str]) -> None:
        if self._stores is None:
            raise RuntimeError("store-scoped assignments need the store directory")
        if await self._stores.get_store(self._session, self._tenant_id, store_id) is None:
            raise UserInputError(
                "no such store in this tenant", code="STORE_NOT_FOUND", field=field
            )

    async def _custom_role(self, name: str, field: Sequence[str]) -> None:
        check_role_name(name, field)
        if name in BUILTIN_ROLES:
            raise UserInputError(
                f"built-in role {name!r} cannot be renamed or deleted",
                code="BUILTIN_ROLE",
                field=field,
            )
        if name not in await self.custom_roles():
            raise UserInputError(f"no role {name!r}", code="ROLE_NOT_FOUND", field=field)

    async def _tenant_role(self, name: str, field: Sequence[str]) -> None:
        check_role_name(name, field)
        if name in PLATFORM_ROLES:
            raise UserInputError(
                "platform roles are not granted by a tenant", code="PLATFORM_ROLE", field=field
            )
        if name not in TENANT_ROLES and name not in await self.custom_roles():
            raise UserInputError(f"no role {name!r}", code="ROLE_NOT_FOUND", field=field)

    async def _grantable(self, role: str, obj: str, action: str) -> Permission:
        await self._tenant_role(role, ["input", "role"])
        try:
            permission = Permission(obj, action)
        except (ValueError, TypeError):
            permission = None
        if permission is None or permission not in self._known:
            raise UserInputError(
                f"{obj}:{action} is not a permission any center declares",
                code="UNKNOWN_PERMISSION",
                field=["input", "object"],
            )
        return permission

    async def _audited(self, obj: str, action: str, detail: Mapping[str, str]) -> int:
        """Audit the change in this transaction; the version after it (the trigger has
        already bumped it for rule changes)."""
        version = await self.version()
        await record_change(
            self._session,
            AuditEntry(
                tenant_id=self._tenant_id,
                request_id=self._request_id,
                subject=self._actor,
                object=obj,
                action=action,
                result=CHANGED,
                matched_rule="admin change",
                policy_version=version,
                detail=detail,
            ),
        )
        return version
