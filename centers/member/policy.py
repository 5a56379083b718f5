"""Casbin objects and actions the member center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants

READ_MEMBER = Permission("member.member", "read")
MANAGE_MEMBER = Permission("member.member", "manage")

GRANTS: RoleGrants = {
    "tenant_admin": [READ_MEMBER, MANAGE_MEMBER],
    "store_manager": [READ_MEMBER],
    # Cashiers register walk-in customers at the POS.
    "cashier": [READ_MEMBER, MANAGE_MEMBER],
}
