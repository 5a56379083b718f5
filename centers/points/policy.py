"""Casbin objects and actions the points center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.ownership import Ownership
from kernel.authz.permissions import Permission, RoleGrants
from kernel.authz.stores import StorePermissions, store_permissions

READ_POINTS = Permission("points.account", "read")
ADJUST_POINTS = Permission("points.account", "adjust")
# The brand's earn, redeem and expiry rules: what points are worth, admin only; read by
# anyone who shows a balance or a checkout.
READ_RULES = Permission("points.rule", "read")
# A customer reads their own points (found by their app account), nobody else's.
READ_OWN_POINTS = Permission("points.account", "read_own")
MANAGE_RULES = Permission("points.rule", "manage")

# ``read_own`` reaches the caller's own member's points (``myPoints``, and ``points`` on
# ``myMembership``); ``read`` every member's. Staff hold both, as with orders, so the
# reference permission of ``Member`` here is ``read_own`` and ``read`` widens it.
POINTS_OWNERSHIP = Ownership(own=READ_OWN_POINTS, any=READ_POINTS)

GRANTS: RoleGrants = {
    # Points are a member's money-like asset: no platform role; a customer reads their own.
    "tenant_admin": [READ_POINTS, READ_OWN_POINTS, ADJUST_POINTS, READ_RULES, MANAGE_RULES],
    "store_manager": [READ_POINTS, READ_OWN_POINTS, ADJUST_POINTS, READ_RULES],
    # Cashiers show a member's balance at the till but cannot grant points by hand.
    "cashier": [READ_POINTS, READ_OWN_POINTS, READ_RULES],
    "customer": [READ_RULES, READ_OWN_POINTS],
}

# What a role held at one store conveys (kernel.authz.stores); the rest needs it tenant-wide.
STORE_PERMISSIONS: StorePermissions = store_permissions(
    shared=[READ_POINTS, READ_OWN_POINTS, READ_RULES]
)
