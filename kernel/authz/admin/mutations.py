"""The access subgraph's mutations: every write is audited and returns the version."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

import strawberry
from strawberry import Info

from kernel.authz import apikeys, platform
from kernel.authz.admin import policy
from kernel.authz.admin.context import (
    access_admin,
    api_key_secret,
    audit_change,
    in_platform_scope,
    policy_store,
    tenant_directory,
)
from kernel.authz.admin.directory import TenantRecord
from kernel.authz.admin.types import (
    AccessChangePayload,
    ApiKey,
    CreateApiKeyInput,
    CreateRoleInput,
    CreateTenantInput,
    CreateTenantPayload,
    DeleteRoleInput,
    IssueApiKeyPayload,
    PlatformAdminInput,
    PlatformTenant,
    RenameRoleInput,
    RevokeApiKeyInput,
    RevokeApiKeyPayload,
    RoleAssignmentInput,
    RolePermissionInput,
    RotateApiKeyInput,
)
from kernel.authz.audit import CHANGED, AuditEntry, record_change
from kernel.authz.roles import SERVICE_ACCOUNT, AccessAdmin, check_subject
from kernel.context import RequestContext
from kernel.db import bind_tenant
from kernel.errors import UserInputError
from kernel.graphql.fields import mutation
from kernel.graphql.mutations import attempt

Ctx = Info[RequestContext, None]


def _store_id(value: str | None, field: Sequence[str]) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise UserInputError(
            "no such store in this tenant", code="STORE_NOT_FOUND", field=field
        ) from None


def _key_id(value: str, field: Sequence[str]) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise UserInputError("no such API key", code="API_KEY_NOT_FOUND", field=field) from None


async def _versioned(
    context: RequestContext, change: Callable[[AccessAdmin], Awaitable[int]]
) -> AccessChangePayload:
    admin = access_admin(context)
    version, errors = await attempt(context, lambda: change(admin))
    if not errors:
        policy_store(context).invalidate(context.tenant_id)  # NOTIFY does it for the others
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
    context: RequestContext,
    service_account: str,
    name: str,
    role: str,
    days: int,
    store_id: uuid.UUID | None = None,
) -> tuple[apikeys.IssuedKey, int]:
    if not SERVICE_ACCOUNT.fullmatch(service_account):
        raise UserInputError(
            "a service account name is lowercase letters, digits and .-_",
            code="INVALID_SERVICE_ACCOUNT",
            field=["input", "serviceAccount"],
        )
    admin = access_admin(context)
    # Validates the role (and store), audits.
    await admin.assign(f"sa:{service_account}", role, store_id)
    issued = await apikeys.issue(
        context.session,
        api_key_secret(context),
        context.tenant_id,
        service_account=service_account,
        name=name,
        role=role,
        created_by=context.principal.subject,
        lifetime=_lifetime(days),
        store_id=store_id,
    )
    # Every live key shares this role and store (checked above, under the account's
    # lock), so any other assignment is what a revoked or expired key left behind: kept,
    # it would give this key a reach it does not show (tenant-wide, or another store).
    for held in await admin.assignments(subject=f"sa:{service_account}"):
        if (held.role, held.store_id) != (role, store_id):
            await admin.unassign(held.subject, held.role, held.store_id)
    await audit_change(context, "access.apikey", "issue", {"id": str(issued.info.id), "role": role})
    return issued, await admin.version()


async def _platform_admin_change(
    context: RequestContext, subject: str, *, admin: bool
) -> AccessChangePayload:
    version, errors = await attempt(
        context,
        lambda: in_platform_scope(
            context,
            lambda: platform.set_admin(
                context.session,
                subject,
                admin=admin,
                actor=context.principal.subject,
                request_id=context.request_id,
            ),
        ),
    )
    if not errors:
        policy_store(context).invalidate(None)  # platform rows count in every tenant
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
        description="Give a subject a role, tenant-wide or at one store (storeId). Codes: "
        "INVALID_SUBJECT, INVALID_ROLE_NAME, ROLE_NOT_FOUND, PLATFORM_ROLE, STORE_NOT_FOUND, "
        "ROLE_NOT_STORE_SCOPED.",
    )
    async def assign_role(self, info: Ctx, input: RoleAssignmentInput) -> AccessChangePayload:
        async def change(admin: AccessAdmin) -> int:
            store = _store_id(input.store_id, ["input", "storeId"])
            return await admin.assign(input.subject, input.role, store)

        return await _versioned(info.context, change)

    @mutation(
        policy.MANAGE_ACCESS,
        description="Remove exactly one assignment: tenant-wide, or at storeId. Codes: "
        "INVALID_SUBJECT, INVALID_ROLE_NAME, ROLE_NOT_FOUND, PLATFORM_ROLE, STORE_NOT_FOUND.",
    )
    async def unassign_role(self, info: Ctx, input: RoleAssignmentInput) -> AccessChangePayload:
        async def change(admin: AccessAdmin) -> int:
            store = _store_id(input.store_id, ["input", "storeId"])
            return await admin.unassign(input.subject, input.role, store)

        return await _versioned(info.context, change)

    @mutation(
        policy.MANAGE_KEYS,
        description="Issue an API key. Codes: INVALID_SERVICE_ACCOUNT, ROLE_TOO_BROAD, "
        "ROLE_NOT_FOUND, ROLE_MISMATCH, TOO_MANY_LIVE_KEYS, INVALID_EXPIRY, INVALID_NAME, "
        "STORE_NOT_FOUND.",
    )
    async def create_api_key(self, info: Ctx, input: CreateApiKeyInput) -> IssueApiKeyPayload:
        context = info.context
        done, errors = await attempt(
            context,
            lambda: _issue(
                context,
                input.service_account,
                input.name,
                input.role,
                input.expires_in_days,
                _store_id(input.store_id, ["input", "storeId"]),
            ),
        )
        if done is None:
            return IssueApiKeyPayload(
                api_key=None, key=None, policy_version=None, user_errors=errors
            )
        issued, version = done
        policy_store(context).invalidate(context.tenant_id)
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
                context,
                old.service_account,
                old.name,
                old.role,
                input.expires_in_days,
                old.store_id,
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
            await audit_change(context, "access.apikey", "revoke", {"id": str(revoked.id)})
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
            created = await in_platform_scope(
                context,
                lambda: tenant_directory().create_tenant(
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
