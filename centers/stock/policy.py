"""Casbin objects and actions the stock center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants

READ_STOCK = Permission("stock.level", "read")
ADJUST_STOCK = Permission("stock.level", "adjust")

GRANTS: RoleGrants = {
    "tenant_admin": [READ_STOCK, ADJUST_STOCK],
    "store_manager": [READ_STOCK, ADJUST_STOCK],
    "cashier": [READ_STOCK],
    "customer": [READ_STOCK],
}
