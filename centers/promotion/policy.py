"""Casbin objects and actions the promotion center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants

READ_ACTIVITY = Permission("promotion.activity", "read")
MANAGE_ACTIVITY = Permission("promotion.activity", "manage")

# Customers read activities: the shop shows what is on offer.
GRANTS: RoleGrants = {
    "tenant_admin": [READ_ACTIVITY, MANAGE_ACTIVITY],
    "store_manager": [READ_ACTIVITY],
    "cashier": [READ_ACTIVITY],
    "customer": [READ_ACTIVITY],
}
