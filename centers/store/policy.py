"""Casbin objects and actions the store center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants
from kernel.authz.stores import StorePermissions, store_permissions

READ_TENANT = Permission("store.tenant", "read")
READ_STORE = Permission("store.store", "read")
MANAGE_STORE = Permission("store.store", "manage")
# The tenant's integrations: plugins, webhooks, dead letters, delivery health.
READ_INTEGRATIONS = Permission("store.integration", "read")
MANAGE_INTEGRATIONS = Permission("store.integration", "manage")

GRANTS: RoleGrants = {
    # Platform roles apply in every tenant, so they get only what every tenant may
    # show its operator; tenant data needs a tenant role.
    "platform_admin": [READ_TENANT],
    "tenant_admin": [
        READ_TENANT,
        READ_STORE,
        MANAGE_STORE,
        READ_INTEGRATIONS,
        MANAGE_INTEGRATIONS,
    ],
    "store_manager": [READ_TENANT, READ_STORE],
    "cashier": [READ_TENANT, READ_STORE],
    "customer": [READ_TENANT, READ_STORE],
}

# What a role held at one store conveys (kernel.authz.stores); the rest needs it tenant-wide.
STORE_PERMISSIONS: StorePermissions = store_permissions(shared=[READ_TENANT, READ_STORE])
