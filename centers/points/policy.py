"""Casbin objects and actions the points center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants

READ_POINTS = Permission("points.account", "read")
ADJUST_POINTS = Permission("points.account", "adjust")

GRANTS: RoleGrants = {
    "tenant_admin": [READ_POINTS, ADJUST_POINTS],
    "store_manager": [READ_POINTS, ADJUST_POINTS],
    "cashier": [READ_POINTS],
}
