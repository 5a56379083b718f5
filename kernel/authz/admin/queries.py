"""The access subgraph's queries."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import strawberry
from strawberry import Info

from kernel.authz import apikeys, platform
from kernel.authz.admin import policy
from kernel.authz.admin.context import (
    access_admin,
    grantable,
    in_platform_scope,
    policy_store,
    tenant_directory,
)
from kernel.authz.admin.types import (
    AccessExplanation,
    AccessRole,
    ApiKey,
    AuditEntryNode,
    AuditResult,
    PermissionRef,
    PlatformTenant,
    RoleAssignment,
)
from kernel.authz.audit import list_entries
from kernel.authz.permissions import Permission
from kernel.authz.roles import check_subject
from kernel.context import RequestContext
from kernel.errors import UserInputError
from kernel.graphql.fields import query
from kernel.graphql.ids import parse_id
from kernel.graphql.pagination import Connection, connection, page_request

Ctx = Info[RequestContext, None]


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
            for r in await access_admin(info.context).roles()
        ]

    @query(policy.READ_ACCESS, description="Who holds which role in the tenant.")
    async def role_assignments(
        self, info: Ctx, subject: str | None = None, store_id: strawberry.ID | None = None
    ) -> list[RoleAssignment]:
        rows = await access_admin(info.context).assignments(
            subject, parse_id(store_id, ["storeId"]) if store_id is not None else None
        )
        return [
            RoleAssignment(
                subject=a.subject,
                role=a.role,
                store_id=strawberry.ID(str(a.store_id)) if a.store_id else None,
            )
            for a in rows
        ]

    @query(policy.READ_ACCESS, description="Permissions the centers declare (grantable).")
    def grantable_permissions(self, info: Ctx) -> list[PermissionRef]:
        return [PermissionRef.of(p) for p in sorted(grantable(policy_store(info.context)), key=str)]

    @query(policy.READ_ACCESS, description="The tenant's current policy version.")
    async def policy_version(self, info: Ctx) -> int:
        return await access_admin(info.context).version()

    @query(
        policy.READ_ACCESS,
        description="Why a subject of this tenant may or may not do something here (with "
        "storeId: on a resource of that store).",
    )
    def explain_access(
        self,
        info: Ctx,
        subject: str,
        object: str,
        action: str,
        store_id: strawberry.ID | None = None,
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
        explained = context.policy.explain(
            subject, permission, parse_id(store_id, ["storeId"]) if store_id is not None else None
        )
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
        subject: str | None = None,
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
            subject=check_subject(subject, ["subject"]) if subject is not None else None,
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
        rows = await in_platform_scope(
            context,
            lambda: tenant_directory().list_tenants(
                context.session, limit=page.limit, after_slug=after_slug
            ),
        )
        return connection(rows, page, PlatformTenant.of, lambda t: [t.slug])

    @query(policy.MANAGE_PLATFORM_ADMINS, description="Platform: who holds platform_admin.")
    async def platform_admins(self, info: Ctx) -> list[str]:
        context = info.context
        return await in_platform_scope(context, lambda: platform.admins(context.session))
