"""The access subgraph's types, inputs and payloads."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from kernel.authz import apikeys
from kernel.authz.admin.directory import TenantRecord
from kernel.authz.permissions import Permission
from kernel.graphql.types import UserError


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
    store_id: strawberry.ID | None = strawberry.field(
        description="The store the role is held at; null: tenant-wide."
    )


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
    store_id: strawberry.ID | None = strawberry.field(
        description="The store the key's role is held at; null: tenant-wide."
    )

    @classmethod
    def of(cls, value: apikeys.ApiKeyInfo) -> ApiKey:
        return cls(
            store_id=strawberry.ID(str(value.store_id)) if value.store_id else None,
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
    store_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Hold the role at this store only: it then conveys the role's store "
        "permissions on this store's resources and its shared permissions (see "
        "docs/authorization.md). Null: tenant-wide.",
    )


@strawberry.input
class CreateApiKeyInput:
    service_account: str = strawberry.field(description="Lowercase name, e.g. pos-terminal-7.")
    name: str
    role: str = strawberry.field(description="A least-privilege role (not tenant_admin).")
    expires_in_days: int = 90
    store_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Hold the role at this store only (a POS terminal's key). Null: tenant-wide.",
    )


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
