"""Casbin objects and actions the fulfillment center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants

READ_SHIPMENT = Permission("fulfillment.shipment", "read")
MANAGE_SHIPMENT = Permission("fulfillment.shipment", "manage")

# Cashiers read shipments to hand out pickups; customers will see their own through
# their orders once the order center filters by buyer.
GRANTS: RoleGrants = {
    "tenant_admin": [READ_SHIPMENT, MANAGE_SHIPMENT],
    "store_manager": [READ_SHIPMENT, MANAGE_SHIPMENT],
    "cashier": [READ_SHIPMENT],
}
