"""What every access resolver reaches through the request: the process's policy store,
the admin service for the caller's tenant, the platform scope, the tenant directory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from kernel.authz.admin import policy
from kernel.authz.admin.directory import TenantDirectory
from kernel.authz.audit import CHANGED, AuditEntry, record_change
from kernel.authz.enforcers import PolicyStore
from kernel.authz.permissions import Permission
from kernel.authz.roles import AccessAdmin
from kernel.context import RequestContext
from kernel.db import bind_platform, bind_tenant
from kernel.settings import get_settings

T = TypeVar("T")

directories: list[TenantDirectory] = []


def policy_store(context: RequestContext) -> PolicyStore:
    if context.policies is None:
        raise RuntimeError("the access subgraph needs the process's policy store")
    return context.policies


def grantable(store: PolicyStore) -> frozenset[Permission]:
    """What a tenant admin may grant: every declared permission but the platform's."""
    return frozenset(
        p for p in store.known_permissions if not p.object.startswith(policy.PLATFORM_OBJECT_PREFIX)
    )


def access_admin(context: RequestContext) -> AccessAdmin:
    store = policy_store(context)
    return AccessAdmin(
        context.session,
        context.tenant_id,
        actor=context.principal.subject,
        request_id=context.request_id,
        known=grantable(store),
        builtin_grants=store.grants,
        stores=tenant_directory(),
    )


def api_key_secret(context: RequestContext) -> bytes:
    settings = context.settings or get_settings()
    return settings.api_key_hmac_key()


async def audit_change(
    context: RequestContext, obj: str, action: str, detail: dict[str, str]
) -> None:
    await record_change(
        context.session,
        AuditEntry(
            tenant_id=context.tenant_id,
            request_id=context.request_id,
            subject=context.principal.subject,
            object=obj,
            action=action,
            result=CHANGED,
            matched_rule="admin change",
            policy_version=context.policy.version,
            detail=detail,
        ),
    )


async def in_platform_scope(context: RequestContext, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` as the platform role, then return to the caller's tenant."""
    session = context.session
    await bind_platform(session)
    try:
        return await work()
    finally:
        await bind_tenant(session, context.tenant_id)


def tenant_directory() -> TenantDirectory:
    if not directories:
        raise RuntimeError("no tenant directory installed (build_subgraph)")
    return directories[0]
