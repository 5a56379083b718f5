"""Casbin objects and actions the points center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants

READ_POINTS = Permission("points.account", "read")
ADJUST_POINTS = Permission("points.account", "adjust")

GRANTS: RoleGrants = {
    # Points are a member's money-like asset: no platform role, no customer role yet.
    "tenant_admin": [READ_POINTS, ADJUST_POINTS],
    "store_manager": [READ_POINTS, ADJUST_POINTS],
    # Cashiers show a member's balance at the till but cannot grant points by hand.
    "cashier": [READ_POINTS],
}
