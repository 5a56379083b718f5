"""Casbin objects and actions the product center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants

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
