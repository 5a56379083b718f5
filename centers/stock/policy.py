"""Casbin objects and actions the stock center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants
from kernel.authz.stores import StorePermissions, store_permissions

READ_STOCK = Permission("stock.level", "read")
ADJUST_STOCK = Permission("stock.level", "adjust")
# ERP counts (库存同步): granted to tenant admins; an ERP service account gets it too.
SYNC_STOCK = Permission("stock.level", "sync")
READ_MOVEMENTS = Permission("stock.movement", "read")
# Deduction strategy, reservation TTL, low-stock thresholds, warehouses and locations.
MANAGE_SETTINGS = Permission("stock.settings", "manage")
MANAGE_FLASH_SALE = Permission("stock.flash", "manage")

GRANTS: RoleGrants = {
    "tenant_admin": [
        READ_STOCK,
        ADJUST_STOCK,
        SYNC_STOCK,
        READ_MOVEMENTS,
        MANAGE_SETTINGS,
        MANAGE_FLASH_SALE,
    ],
    "store_manager": [READ_STOCK, ADJUST_STOCK, READ_MOVEMENTS, MANAGE_FLASH_SALE],
    "cashier": [READ_STOCK],
    "customer": [READ_STOCK],
}

# What a role held at one store conveys (kernel.authz.stores); the rest needs it tenant-wide.
STORE_PERMISSIONS: StorePermissions = store_permissions(
    at_store=[READ_STOCK, ADJUST_STOCK, READ_MOVEMENTS, MANAGE_FLASH_SALE]
)
