"""Casbin objects and actions the order center declares, and built-in role grants.

``read``/``cancel`` reach the caller's own orders (an SQL filter on the buyer);
``read_any``/``cancel_any`` reach every order of the tenant (staff). ``manage`` lets
staff fire the store's events (accept, ready, ship, approve…) on any order;
``settings`` changes the tenant's order rules.
"""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants
from kernel.authz.stores import StorePermissions, store_permissions

PLACE_ORDER = Permission("order.order", "create")
READ_ORDER = Permission("order.order", "read")
READ_ANY_ORDER = Permission("order.order", "read_any")
CANCEL_ORDER = Permission("order.order", "cancel")
CANCEL_ANY_ORDER = Permission("order.order", "cancel_any")
MANAGE_ORDER = Permission("order.order", "manage")
UPDATE_SETTINGS = Permission("order.setting", "update")

_STAFF = [
    PLACE_ORDER,
    READ_ORDER,
    READ_ANY_ORDER,
    CANCEL_ORDER,
    CANCEL_ANY_ORDER,
    MANAGE_ORDER,
]

GRANTS: RoleGrants = {
    "tenant_admin": [*_STAFF, UPDATE_SETTINGS],
    "store_manager": _STAFF,
    "cashier": _STAFF,
    "customer": [PLACE_ORDER, READ_ORDER, CANCEL_ORDER],
}

# What a role held at one store conveys (kernel.authz.stores); the rest needs it tenant-wide.
STORE_PERMISSIONS: StorePermissions = store_permissions(
    at_store=[PLACE_ORDER, READ_ORDER, READ_ANY_ORDER, CANCEL_ORDER, CANCEL_ANY_ORDER, MANAGE_ORDER]
)
