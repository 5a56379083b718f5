"""The ``access`` subgraph: a tenant admin manages roles, grants, assignments and API
keys and reads the audit log; a platform admin manages tenants.

Every identifier is validated (``kernel.authz.roles``); the tenant is always the
caller's own, never an argument. Writes return the tenant's new policy version.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import TypeVar

import strawberry
from strawberry import Info

from kernel.authz import apikeys, roles
from kernel.authz.admin import policy
from kernel.authz.admin.directory import TenantDirectory, TenantRecord
from kernel.authz.audit import CHANGED, AuditEntry, list_entries, record_change
from kernel.authz.enforcers import PolicyStore
from kernel.authz.permissions import Permission
from kernel.authz.roles import (
    SERVICE_ACCOUNT,
    AccessAdmin,
    check_subject,
)
from kernel.context import RequestContext
from kernel.db import bind_platform, bind_tenant
from kernel.errors import UserInputError
from kernel.graphql.fields import mutation, query
from kernel.graphql.mutations import attempt
from kernel.graphql.pagination import Connection, connection, page_request
from kernel.graphql.subgraph import Subgraph
from kernel.graphql.types import UserError
from kernel.settings import get_settings

Ctx = Info[RequestContext, None]
T = TypeVar("T")

_directory: list[TenantDirectory] = []


def _store(context: RequestContext) -> PolicyStore:
    if context.policies is None:
        raise RuntimeError("the access subgraph needs the process's policy store")
    return context.policies


def grantable(store: PolicyStore) -> frozenset[Permission]:
    """What a tenant admin may grant: every declared permission but the platform's."""
    return frozenset(
        p for p in store.known_permissions if not p.object.startswith(policy.PLATFORM_OBJECT_PREFIX)
    )


def _admin(context: RequestContext) -> AccessAdmin:
    store = _store(context)
    return AccessAdmin(
        context.session,
        context.tenant_id,
        actor=context.principal.subject,
        request_id=context.request_id,
        known=grantable(store),
        builtin_grants=store.grants,
    )


# --- types -------------------------------------------------------------------------------


@strawberry.type(description="An action on a center's object, e.g. order.order / read.")
class PermissionRef:
    object: str
    action: str

    @classmethod
    def of(cls, permission: Permission) -> PermissionRef:
        return cls(object=permission.object, action=permission.action)


@strawberry.type(description="A role of the tenant: built-in or the tenant's own.")
class AccessRole:
    name: str
    builtin: bool
    description: str
    granted: list[PermissionRef] = strawberry.field(description="What the role allows.")
    denied: list[PermissionRef] = strawberry.field(
        description="Declared grants the tenant revoked (deny rules for the role)."
    )


@strawberry.type(description="A subject holding a role in the tenant.")
class RoleAssignment:
    subject: str
    role: str


@strawberry.type(description="Why a subject may or may not do something in this tenant.")
class AccessExplanation:
    allowed: bool
    matched_rule: str = strawberry.field(
        description="The rule that decided, or 'default deny: no rule allows it'."
    )
    roles: list[str]
    policy_version: int


@strawberry.type(description="An API key of a service account (the secret is never shown).")
class ApiKey:
    id: strawberry.ID
    service_account: str
    name: str
    role: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, value: apikeys.ApiKeyInfo) -> ApiKey:
        return cls(
            id=strawberry.ID(str(value.id)),
            service_account=value.service_account,
            name=value.name,
            role=value.role,
            created_by=value.created_by,
            created_at=value.created_at,
            expires_at=value.expires_at,
            revoked_at=value.revoked_at,
        )


@strawberry.enum(description="What an audit entry records.")
class AuditResult(Enum):
    DENIED = "denied"
    CHANGED = "changed"


@strawberry.type(description="One audited decision or change.")
class AuditEntryNode:
    id: strawberry.ID
    at: datetime
    request_id: str
    subject: str
    object: str
    action: str
    result: AuditResult
    matched_rule: str
    policy_version: int
    detail: str = strawberry.field(description="Details as a JSON object.")


@strawberry.type(description="A tenant in the platform directory.")
class PlatformTenant:
    id: strawberry.ID
    slug: str
    name: str
    currency: str

    @classmethod
    def of(cls, value: TenantRecord) -> PlatformTenant:
        return cls(
            id=strawberry.ID(str(value.id)),
            slug=value.slug,
            name=value.name,
            currency=value.currency,
        )


@strawberry.type
class AccessChangePayload:
    policy_version: int | None = strawberry.field(
        description="The tenant's policy version after the change."
    )
    user_errors: list[UserError]


@strawberry.type
class IssueApiKeyPayload:
    api_key: ApiKey | None
    key: str | None = strawberry.field(
        description="The key itself (zt_…), shown this once; store it in the client."
    )
    policy_version: int | None
    user_errors: list[UserError]


@strawberry.type
class RevokeApiKeyPayload:
    api_key: ApiKey | None
    user_errors: list[UserError]


@strawberry.type
class CreateTenantPayload:
    tenant: PlatformTenant | None
    user_errors: list[UserError]


@strawberry.input
class CreateRoleInput:
    name: str
    description: str = ""


@strawberry.input
class RenameRoleInput:
    name: str
    new_name: str


@strawberry.input
class DeleteRoleInput:
    name: str


@strawberry.input
class RolePermissionInput:
    role: str
    object: str
    action: str


@strawberry.input
class RoleAssignmentInput:
    subject: str = strawberry.field(description="user:<id> or sa:<id>.")
    role: str


@strawberry.input
class CreateApiKeyInput:
    service_account: str = strawberry.field(description="Lowercase name, e.g. pos-terminal-7.")
    name: str
    role: str = strawberry.field(description="A least-privilege role (not tenant_admin).")
    expires_in_days: int = 90


@strawberry.input
class RotateApiKeyInput:
    id: strawberry.ID
    expires_in_days: int = 90


@strawberry.input
class RevokeApiKeyInput:
    id: strawberry.ID


@strawberry.input
class PlatformAdminInput:
    subject: str = strawberry.field(description="user:<id>")


@strawberry.input
class CreateTenantInput:
    slug: str
    name: str
    currency: str = "CNY"
    admin_subject: str | None = strawberry.field(
        default=None, description="Optional user:<id> to make the tenant's first admin."
    )


# --- helpers -----------------------------------------------------------------------------


def _key_id(value: str, field: Sequence[str]) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise UserInputError("no such API key", code="API_KEY_NOT_FOUND", field=field) from None


async def _versioned(
    context: RequestContext, change: Callable[[AccessAdmin], Awaitable[int]]
) -> AccessChangePayload:
    admin = _admin(context)
    version, errors = await attempt(context, lambda: change(admin))
    if not errors:
        _store(context).invalidate(context.tenant_id)  # NOTIFY does it for the others
    return AccessChangePayload(policy_version=version, user_errors=errors)


def _lifetime(days: int) -> timedelta:
    if not 1 <= days <= 366:
        raise UserInputError(
            "expiresInDays must be 1 to 366",
            code="INVALID_EXPIRY",
            field=["input", "expiresInDays"],
        )
    return timedelta(days=days)


async def _issue(
    context: RequestContext, service_account: str, name: str, role: str, days: int
) -> tuple[apikeys.IssuedKey, int]:
    if not SERVICE_ACCOUNT.fullmatch(service_account):
        raise UserInputError(
            "a service account name is lowercase letters, digits and .-_",
            code="INVALID_SERVICE_ACCOUNT",
            field=["input", "serviceAccount"],
        )
    admin = _admin(context)
    await admin.assign(f"sa:{service_account}", role)  # validates the role, audits
    issued = await apikeys.issue(
        context.session,
        _api_key_secret(context),
        context.tenant_id,
        service_account=service_account,
        name=name,
        role=role,
        created_by=context.principal.subject,
        lifetime=_lifetime(days),
    )
    await _audit(context, "access.apikey", "issue", {"id": str(issued.info.id), "role": role})
    return issued, await admin.version()


def _api_key_secret(context: RequestContext) -> bytes:
    settings = context.settings or get_settings()
    return settings.api_key_hmac_key()


async def _audit(context: RequestContext, obj: str, action: str, detail: dict[str, str]) -> None:
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


async def _in_platform_scope(context: RequestContext, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` as the platform role, then return to the caller's tenant."""
    session = context.session
    await bind_platform(session)
    try:
        return await work()
    finally:
        await bind_tenant(session, context.tenant_id)


def _directory_of() -> TenantDirectory:
    if not _directory:
        raise RuntimeError("no tenant directory installed (build_subgraph)")
    return _directory[0]


# --- root fields -------------------------------------------------------------------------


@strawberry.type
class Query:
    @query(policy.READ_ACCESS, description="The tenant's roles, built-in and its own.")
    async def access_roles(self, info: Ctx) -> list[AccessRole]:
        return [
            AccessRole(
                name=r.name,
                builtin=r.builtin,
                description=r.description,
                granted=[PermissionRef.of(p) for p in r.granted],
                denied=[PermissionRef.of(p) for p in r.denied],
            )
            for r in await _admin(info.context).roles()
        ]

    @query(policy.READ_ACCESS, description="Who holds which role in the tenant.")
    async def role_assignments(self, info: Ctx, subject: str | None = None) -> list[RoleAssignment]:
        rows = await _admin(info.context).assignments(subject)
        return [RoleAssignment(subject=a.subject, role=a.role) for a in rows]

    @query(policy.READ_ACCESS, description="Permissions the centers declare (grantable).")
    def grantable_permissions(self, info: Ctx) -> list[PermissionRef]:
        return [PermissionRef.of(p) for p in sorted(grantable(_store(info.context)), key=str)]

    @query(policy.READ_ACCESS, description="The tenant's current policy version.")
    async def policy_version(self, info: Ctx) -> int:
        return await _admin(info.context).version()

    @query(
        policy.READ_ACCESS,
        description="Why a subject of this tenant may or may not do something here.",
    )
    def explain_access(
        self, info: Ctx, subject: str, object: str, action: str
    ) -> AccessExplanation:
        context = info.context
        check_subject(subject, ["subject"])
        try:
            permission = Permission(object, action)
        except ValueError:
            raise UserInputError(
                f"{object}:{action} is not a permission",
                code="UNKNOWN_PERMISSION",
                field=["object"],
            ) from None
        explained = context.policy.explain(subject, permission)
        return AccessExplanation(
            allowed=explained.allowed,
            matched_rule=explained.matched_rule,
            roles=list(explained.roles),
            policy_version=explained.policy_version,
        )

    @query(policy.READ_KEYS, description="The tenant's API keys (never their secrets).")
    async def api_keys(self, info: Ctx, service_account: str | None = None) -> list[ApiKey]:
        context = info.context
        keys = await apikeys.list_keys(context.session, context.tenant_id, service_account)
        return [ApiKey.of(k) for k in keys]

    @query(policy.READ_AUDIT, description="Denied decisions and access changes, newest first.")
    async def audit_log(
        self,
        info: Ctx,
        first: int = 50,
        after: str | None = None,
        result: AuditResult | None = None,
    ) -> Connection[AuditEntryNode]:
        context = info.context
        page = page_request(first, after)
        before = None
        if page.after:
            try:
                before = (datetime.fromisoformat(page.after[0]), uuid.UUID(page.after[1]))
            except (ValueError, IndexError):
                raise UserInputError(
                    "malformed cursor", code="INVALID_CURSOR", field=["after"]
                ) from None
        rows = await list_entries(
            context.session,
            context.tenant_id,
            limit=page.limit,
            before=before,
            result=result.value if result else None,
        )
        return connection(
            rows,
            page,
            lambda r: AuditEntryNode(
                id=strawberry.ID(str(r["id"])),
                at=r["at"],
                request_id=r["request_id"],
                subject=r["subject"],
                object=r["object"],
                action=r["action"],
                result=AuditResult(r["result"]),
                matched_rule=r["matched_rule"],
                policy_version=r["policy_version"],
                detail=json.dumps(r["detail"], sort_keys=True),
            ),
            lambda r: [r["at"].isoformat(), r["id"]],
        )

    @query(policy.READ_TENANTS, description="Platform: every tenant, by slug.")
    async def platform_tenants(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[PlatformTenant]:
        context = info.context
        page = page_request(first, after)
        after_slug = str(page.after[0]) if page.after else None
        rows = await _in_platform_scope(
            context,
            lambda: _directory_of().list_tenants(
                context.session, limit=page.limit, after_slug=after_slug
            ),
        )
        return connection(rows, page, PlatformTenant.of, lambda t: [t.slug])

    @query(policy.MANAGE_PLATFORM_ADMINS, description="Platform: who holds platform_admin.")
    async def platform_admins(self, info: Ctx) -> list[str]:
        context = info.context
        return await _in_platform_scope(context, lambda: roles.platform_admins(context.session))


async def _platform_admin_change(
    context: RequestContext, subject: str, *, admin: bool
) -> AccessChangePayload:
    version, errors = await attempt(
        context,
        lambda: _in_platform_scope(
            context,
            lambda: roles.set_platform_admin(
                context.session,
                subject,
                admin=admin,
                actor=context.principal.subject,
                request_id=context.request_id,
            ),
        ),
    )
    if not errors:
        _store(context).invalidate(None)  # platform rows count in every tenant
    return AccessChangePayload(policy_version=version, user_errors=errors)


@strawberry.type
class Mutation:
    @mutation(policy.MANAGE_ACCESS, description="Codes: INVALID_ROLE_NAME, ROLE_EXISTS.")
    async def create_role(self, info: Ctx, input: CreateRoleInput) -> AccessChangePayload:
        return await _versioned(
            info.context, lambda a: a.create_role(input.name, input.description)
        )

    @mutation(
        policy.MANAGE_ACCESS,
        description="Codes: INVALID_ROLE_NAME, ROLE_NOT_FOUND, BUILTIN_ROLE, ROLE_EXISTS.",
    )
    async def rename_role(self, info: Ctx, input: RenameRoleInput) -> AccessChangePayload:
        return await _versioned(info.context, lambda a: a.rename_role(input.name, input.new_name))

    @mutation(policy.MANAGE_ACCESS, description="Codes: ROLE_NOT_FOUND, BUILTIN_ROLE.")
    async def delete_role(self, info: Ctx, input: DeleteRoleInput) -> AccessChangePayload:
        return await _versioned(info.context, lambda a: a.delete_role(input.name))

    @mutation(
        policy.MANAGE_ACCESS,
        description="Codes: INVALID_ROLE_NAME, ROLE_NOT_FOUND, PLATFORM_ROLE, UNKNOWN_PERMISSION.",
    )
    async def grant_permission(self, info: Ctx, input: RolePermissionInput) -> AccessChangePayload:
        return await _versioned(
            info.context, lambda a: a.grant(input.role, input.object, input.action)
        )

    @mutation(
        policy.MANAGE_ACCESS,
        description="Codes: INVALID_ROLE_NAME, ROLE_NOT_FOUND, PLATFORM_ROLE, UNKNOWN_PERMISSION.",
    )
    async def revoke_permission(self, info: Ctx, input: RolePermissionInput) -> AccessChangePayload:
        return await _versioned(
            info.context, lambda a: a.revoke(input.role, input.object, input.action)
        )

    @mutation(
        policy.MANAGE_ACCESS,
        description="Codes: INVALID_SUBJECT, INVALID_ROLE_NAME, ROLE_NOT_FOUND, PLATFORM_ROLE.",
    )
    async def assign_role(self, info: Ctx, input: RoleAssignmentInput) -> AccessChangePayload:
        return await _versioned(info.context, lambda a: a.assign(input.subject, input.role))

    @mutation(
        policy.MANAGE_ACCESS,
        description="Codes: INVALID_SUBJECT, INVALID_ROLE_NAME, ROLE_NOT_FOUND, PLATFORM_ROLE.",
    )
    async def unassign_role(self, info: Ctx, input: RoleAssignmentInput) -> AccessChangePayload:
        return await _versioned(info.context, lambda a: a.unassign(input.subject, input.role))

    @mutation(
        policy.MANAGE_KEYS,
        description="Issue an API key. Codes: INVALID_SERVICE_ACCOUNT, ROLE_TOO_BROAD, "
        "ROLE_NOT_FOUND, ROLE_MISMATCH, TOO_MANY_LIVE_KEYS, INVALID_EXPIRY, INVALID_NAME.",
    )
    async def create_api_key(self, info: Ctx, input: CreateApiKeyInput) -> IssueApiKeyPayload:
        context = info.context
        done, errors = await attempt(
            context,
            lambda: _issue(
                context, input.service_account, input.name, input.role, input.expires_in_days
            ),
        )
        if done is None:
            return IssueApiKeyPayload(
                api_key=None, key=None, policy_version=None, user_errors=errors
            )
        issued, version = done
        _store(context).invalidate(context.tenant_id)
        return IssueApiKeyPayload(
            api_key=ApiKey.of(issued.info),
            key=issued.secret,
            policy_version=version,
            user_errors=[],
        )

    @mutation(
        policy.MANAGE_KEYS,
        description="A second key for the same service account; the old one stays valid "
        "until it expires or is revoked. Codes: API_KEY_NOT_FOUND, TOO_MANY_LIVE_KEYS.",
    )
    async def rotate_api_key(self, info: Ctx, input: RotateApiKeyInput) -> IssueApiKeyPayload:
        context = info.context

        async def rotate() -> tuple[apikeys.IssuedKey, int]:
            old = await apikeys.get_key(
                context.session, context.tenant_id, _key_id(input.id, ["input", "id"])
            )
            return await _issue(
                context, old.service_account, old.name, old.role, input.expires_in_days
            )

        done, errors = await attempt(context, rotate)
        if done is None:
            return IssueApiKeyPayload(
                api_key=None, key=None, policy_version=None, user_errors=errors
            )
        issued, version = done
        return IssueApiKeyPayload(
            api_key=ApiKey.of(issued.info),
            key=issued.secret,
            policy_version=version,
            user_errors=[],
        )

    @mutation(
        policy.MANAGE_KEYS,
        description="Revoke a key; it authenticates nobody from the next request on. "
        "Codes: API_KEY_NOT_FOUND.",
    )
    async def revoke_api_key(self, info: Ctx, input: RevokeApiKeyInput) -> RevokeApiKeyPayload:
        context = info.context

        async def revoke() -> apikeys.ApiKeyInfo:
            revoked = await apikeys.revoke(
                context.session, context.tenant_id, _key_id(input.id, ["input", "id"])
            )
            await _audit(context, "access.apikey", "revoke", {"id": str(revoked.id)})
            return revoked

        revoked, errors = await attempt(context, revoke)
        return RevokeApiKeyPayload(
            api_key=ApiKey.of(revoked) if revoked else None, user_errors=errors
        )

    @mutation(
        policy.MANAGE_PLATFORM_ADMINS,
        description="Platform: make a user a platform admin. Codes: INVALID_SUBJECT.",
    )
    async def assign_platform_admin(
        self, info: Ctx, input: PlatformAdminInput
    ) -> AccessChangePayload:
        return await _platform_admin_change(info.context, input.subject, admin=True)

    @mutation(
        policy.MANAGE_PLATFORM_ADMINS,
        description="Platform: take platform_admin away. Codes: INVALID_SUBJECT, "
        "CANNOT_REMOVE_SELF.",
    )
    async def unassign_platform_admin(
        self, info: Ctx, input: PlatformAdminInput
    ) -> AccessChangePayload:
        return await _platform_admin_change(info.context, input.subject, admin=False)

    @mutation(
        policy.MANAGE_TENANTS,
        description="Platform: create a tenant, optionally with its first admin. "
        "Codes: INVALID_SLUG, SLUG_TAKEN, INVALID_CURRENCY, INVALID_NAME, INVALID_SUBJECT.",
    )
    async def create_tenant(self, info: Ctx, input: CreateTenantInput) -> CreateTenantPayload:
        context = info.context

        async def create() -> TenantRecord:
            if input.admin_subject is not None:
                check_subject(input.admin_subject, ["input", "adminSubject"])
            created = await _in_platform_scope(
                context,
                lambda: _directory_of().create_tenant(
                    context.session, slug=input.slug, name=input.name, currency=input.currency
                ),
            )
            session = context.session
            await bind_tenant(session, created.id)
            try:
                admin = AccessAdmin(
                    session,
                    created.id,
                    actor=context.principal.subject,
                    request_id=context.request_id,
                    known=frozenset(),
                    builtin_grants={},
                )
                await record_change(
                    session,
                    AuditEntry(
                        tenant_id=created.id,
                        request_id=context.request_id,
                        subject=context.principal.subject,
                        object=policy.MANAGE_TENANTS.object,
                        action="create",
                        result=CHANGED,
                        matched_rule="platform change",
                        policy_version=0,
                        detail={"slug": created.slug},
                    ),
                )
                if input.admin_subject is not None:
                    await admin.assign(input.admin_subject, "tenant_admin")
            finally:
                await bind_tenant(session, context.tenant_id)
            return created

        created, errors = await attempt(context, create)
        return CreateTenantPayload(
            tenant=PlatformTenant.of(created) if created else None, user_errors=errors
        )


def build_subgraph(directory: TenantDirectory) -> Subgraph:
    """The access subgraph, managing tenants through ``directory``."""
    _directory[:] = [directory]
    return subgraph


subgraph = Subgraph(
    name="access",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation),
    entity_permissions={},
    grants=policy.GRANTS,
)
