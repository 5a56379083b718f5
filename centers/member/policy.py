"""Casbin objects and actions the member center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants

READ_MEMBER = Permission("member.member", "read")
MANAGE_MEMBER = Permission("member.member", "manage")

GRANTS: RoleGrants = {
    # Members are personal data (phone numbers): no platform role, and no customer role
    # until a customer can be tied to their own member row.
    "tenant_admin": [READ_MEMBER, MANAGE_MEMBER],
    "store_manager": [READ_MEMBER],
    # Cashiers look members up and register walk-in customers at the POS.
    "cashier": [READ_MEMBER, MANAGE_MEMBER],
}
