"""Casbin objects and actions the product center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants
from kernel.authz.stores import StorePermissions, store_permissions

READ_PRODUCT = Permission("product.product", "read")
MANAGE_PRODUCT = Permission("product.product", "manage")
# Products pushed by the brand's ERP; tenant admins hold it, an ERP service account may.
SYNC_PRODUCT = Permission("product.product", "sync")

GRANTS: RoleGrants = {
    "tenant_admin": [READ_PRODUCT, MANAGE_PRODUCT, SYNC_PRODUCT],
    "store_manager": [READ_PRODUCT],
    "cashier": [READ_PRODUCT],
    "customer": [READ_PRODUCT],
}

# What a role held at one store conveys (kernel.authz.stores); the rest needs it tenant-wide.
STORE_PERMISSIONS: StorePermissions = store_permissions(shared=[READ_PRODUCT])
