"""Casbin objects and actions of access administration, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants

READ_ACCESS = Permission("access.role", "read")
MANAGE_ACCESS = Permission("access.role", "manage")
READ_KEYS = Permission("access.apikey", "read")
MANAGE_KEYS = Permission("access.apikey", "manage")
READ_AUDIT = Permission("access.audit", "read")
# Platform permissions: granted to platform roles only, never grantable by a tenant.
READ_TENANTS = Permission("platform.tenant", "read")
MANAGE_TENANTS = Permission("platform.tenant", "manage")
MANAGE_PLATFORM_ADMINS = Permission("platform.admin", "manage")
PLATFORM_OBJECT_PREFIX = "platform."

GRANTS: RoleGrants = {
    "platform_admin": [READ_TENANTS, MANAGE_TENANTS, MANAGE_PLATFORM_ADMINS],
    "tenant_admin": [READ_ACCESS, MANAGE_ACCESS, READ_KEYS, MANAGE_KEYS, READ_AUDIT],
}
