"""Policy rows in PostgreSQL (``kernel.policy_rule``) and the writes admins make.

Built-in role grants come from the centers' ``policy.py`` and are not stored; a tenant
narrows them with deny rows (deny overrides allow) and adds its own roles with rows.
A trigger on this table NOTIFYs ``zhongtai_policy`` with the tenant id on every change.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import EllipsisType
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.authz.permissions import (
    BUILTIN_ROLES,
    PLATFORM_ROLES,
    Permission,
    role_subject,
)
from kernel.ids import new_id

# Platform-wide rows (user -> platform role) live under the nil tenant.
PLATFORM_TENANT = uuid.UUID(int=0)

metadata = sa.MetaData(schema="kernel")

policy_rule = sa.Table(
    "policy_rule",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("ptype", sa.String(4), nullable=False),  # p | g | g2
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("object", sa.String(200), nullable=False),  # role for g/g2
    sa.Column("action", sa.String(64), nullable=False, server_default=""),
    sa.Column("effect", sa.String(8), nullable=False, server_default="allow"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # A ``g`` row with a store holds the role at that store only (kernel.authz.stores).
    sa.Column("store_id", sa.Uuid, nullable=True),
)


@dataclass(frozen=True, slots=True)
class PolicyRow:
    ptype: str
    subject: str
    object: str
    action: str
    effect: str
    store_id: uuid.UUID | None = None


policy_version = sa.Table(
    "policy_version",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)


async def load_version(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """The tenant's policy version: bumped by the trigger on every rule change."""
    version = await session.scalar(
        sa.select(policy_version.c.version).where(policy_version.c.tenant_id == tenant_id)
    )
    return int(version or 0)


async def load_rows(session: AsyncSession, tenant_id: uuid.UUID) -> list[PolicyRow]:
    """Every stored row that can affect ``tenant_id``: its own and the platform's."""
    result = await session.execute(
        sa.select(
            policy_rule.c.ptype,
            policy_rule.c.subject,
            policy_rule.c.object,
            policy_rule.c.action,
            policy_rule.c.effect,
            policy_rule.c.store_id,
        ).where(policy_rule.c.tenant_id.in_([tenant_id, PLATFORM_TENANT]))
    )
    return [PolicyRow(*row) for row in result.all()]


def _check_subject(subject: str) -> None:
    kind, _, name = subject.partition(":")
    if kind not in ("user", "sa", "role") or not name or any(c in name for c in ", \t\n:*"):
        raise ValueError(f"malformed subject {subject!r}")


async def assign_role(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    subject: str,
    role: str,
    *,
    store_id: uuid.UUID | None = None,
) -> None:
    """Give ``subject`` a role in one tenant (at one store, if given), or a platform
    role (idempotent)."""
    _check_subject(subject)
    role_name = role_subject(role)
    if role in PLATFORM_ROLES:
        if store_id is not None:
            raise ValueError("platform roles are not held at a store")
        await _insert_once(session, PLATFORM_TENANT, "g2", subject, role_name, "", "allow")
    else:
        await _insert_once(
            session, tenant_id, "g", subject, role_name, "", "allow", store_id=store_id
        )


async def set_rule(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    subject: str,
    permission: Permission,
    effect: Literal["allow", "deny"],
) -> None:
    """Allow or deny one permission to a subject or role within one tenant."""
    _check_subject(subject)
    await _insert_once(
        session, tenant_id, "p", subject, permission.object, permission.action, effect
    )


async def delete_rows(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    ptype: str,
    *,
    subject: str | None = None,
    obj: str | None = None,
    action: str | None = None,
    effect: str | None = None,
    store_id: uuid.UUID | EllipsisType | None = ...,
) -> int:
    """Delete the tenant's rows of ``ptype`` matching every given column (``store_id``:
    ``None`` for tenant-wide rows only, ``...`` for any); returns how many."""
    statement = sa.delete(policy_rule).where(
        policy_rule.c.tenant_id == tenant_id, policy_rule.c.ptype == ptype
    )
    for column, value in (
        (policy_rule.c.subject, subject),
        (policy_rule.c.object, obj),
        (policy_rule.c.action, action),
        (policy_rule.c.effect, effect),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if store_id is None:
        statement = statement.where(policy_rule.c.store_id.is_(None))
    elif not isinstance(store_id, EllipsisType):
        statement = statement.where(policy_rule.c.store_id == store_id)
    result = await session.execute(statement.returning(policy_rule.c.id))
    return len(result.all())


async def _insert_once(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    ptype: str,
    subject: str,
    obj: str,
    action: str,
    effect: str,
    *,
    store_id: uuid.UUID | None = None,
) -> None:
    exists = await session.scalar(
        sa.select(sa.literal(1)).where(
            policy_rule.c.tenant_id == tenant_id,
            policy_rule.c.ptype == ptype,
            policy_rule.c.subject == subject,
            policy_rule.c.object == obj,
            policy_rule.c.action == action,
            policy_rule.c.effect == effect,
            policy_rule.c.store_id.is_(None)
            if store_id is None
            else policy_rule.c.store_id == store_id,
        )
    )
    if exists:
        return
    await session.execute(
        insert(policy_rule).values(
            tenant_id=tenant_id,
            id=new_id(),
            ptype=ptype,
            subject=subject,
            object=obj,
            action=action,
            effect=effect,
            created_at=datetime.now(UTC),
            store_id=store_id,
        )
    )


def known_roles() -> Sequence[str]:
    return BUILTIN_ROLES
