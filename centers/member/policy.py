"""Casbin objects and actions the member center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants
from kernel.authz.stores import StorePermissions, store_permissions

READ_MEMBER = Permission("member.member", "read")
MANAGE_MEMBER = Permission("member.member", "manage")
# A customer reads their own membership (found by their app account), nobody else's.
READ_OWN_MEMBER = Permission("member.member", "read_own")
# Levels, their benefits and member prices: the brand's pricing, admin only.
MANAGE_LEVELS = Permission("member.level", "manage")
READ_LEVELS = Permission("member.level", "read")
# The blacklist decides whether orders go through: a manager's call, not a cashier's.
MANAGE_BLACKLIST = Permission("member.blacklist", "manage")

GRANTS: RoleGrants = {
    # Members are personal data (phone numbers): no platform role; a customer reaches
    # only their own member row, through their app account.
    "tenant_admin": [READ_MEMBER, MANAGE_MEMBER, MANAGE_LEVELS, READ_LEVELS, MANAGE_BLACKLIST],
    "store_manager": [READ_MEMBER, READ_LEVELS, MANAGE_BLACKLIST],
    # Cashiers look members up and register walk-in customers at the POS.
    "cashier": [READ_MEMBER, MANAGE_MEMBER, READ_LEVELS],
    # Customers see the levels and their benefits (the membership page).
    "customer": [READ_LEVELS, READ_OWN_MEMBER],
}

# What a role held at one store conveys (kernel.authz.stores); the rest needs it tenant-wide.
STORE_PERMISSIONS: StorePermissions = store_permissions(
    shared=[READ_MEMBER, MANAGE_MEMBER, READ_LEVELS]
)
