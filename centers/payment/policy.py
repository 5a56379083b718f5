"""Casbin objects and actions the payment center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants

READ_PAYMENT = Permission("payment.payment", "read")
RECORD_PAYMENT = Permission("payment.payment", "record")

# Customers get nothing here yet: they will see their own payments through their
# orders once the order center filters by buyer.
GRANTS: RoleGrants = {
    "tenant_admin": [READ_PAYMENT, RECORD_PAYMENT],
    "store_manager": [READ_PAYMENT, RECORD_PAYMENT],
    "cashier": [READ_PAYMENT, RECORD_PAYMENT],
}
