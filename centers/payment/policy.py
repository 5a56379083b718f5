"""Casbin objects and actions the payment center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants
from kernel.authz.stores import StorePermissions, store_permissions

READ_PAYMENT = Permission("payment.payment", "read")
RECORD_PAYMENT = Permission("payment.payment", "record")
# Opening a provider payment for what an order owes: the buyer's app does it, and a
# cashier does it for a QR payment at the till. It reveals only the amount owed.
START_ONLINE = Permission("payment.payment", "start_online")
REFUND = Permission("payment.refund", "create")
RECONCILE = Permission("payment.reconciliation", "read")
CONFIGURE_PROVIDER = Permission("payment.provider", "manage")

GRANTS: RoleGrants = {
    "tenant_admin": [
        READ_PAYMENT,
        RECORD_PAYMENT,
        START_ONLINE,
        REFUND,
        RECONCILE,
        CONFIGURE_PROVIDER,
    ],
    "store_manager": [READ_PAYMENT, RECORD_PAYMENT, START_ONLINE, REFUND, RECONCILE],
    "cashier": [READ_PAYMENT, RECORD_PAYMENT, START_ONLINE],
    "customer": [START_ONLINE],
}

# What a role held at one store conveys (kernel.authz.stores); the rest needs it tenant-wide.
STORE_PERMISSIONS: StorePermissions = store_permissions(
    at_store=[READ_PAYMENT, RECORD_PAYMENT, START_ONLINE, REFUND, RECONCILE]
)
