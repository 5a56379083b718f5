"""Casbin objects and actions the fulfillment center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants
from kernel.authz.stores import StorePermissions, store_permissions

READ_SHIPMENT = Permission("fulfillment.shipment", "read")
MANAGE_SHIPMENT = Permission("fulfillment.shipment", "manage")
# Moving a shipment on at the counter: preparing, ready (取餐通知), picked up, rider news.
PROGRESS_SHIPMENT = Permission("fulfillment.shipment", "progress")
DISPATCH = Permission("fulfillment.dispatch", "run")
READ_PICKUP_POINT = Permission("fulfillment.pickup_point", "read")
MANAGE_PICKUP_POINT = Permission("fulfillment.pickup_point", "manage")

# Cashiers read shipments to hand out pickups; customers will see their own through
# their orders once the order center filters by buyer, and choose pickup points.
GRANTS: RoleGrants = {
    "tenant_admin": [
        READ_SHIPMENT,
        MANAGE_SHIPMENT,
        PROGRESS_SHIPMENT,
        DISPATCH,
        READ_PICKUP_POINT,
        MANAGE_PICKUP_POINT,
    ],
    "store_manager": [
        READ_SHIPMENT,
        MANAGE_SHIPMENT,
        PROGRESS_SHIPMENT,
        DISPATCH,
        READ_PICKUP_POINT,
    ],
    "cashier": [READ_SHIPMENT, PROGRESS_SHIPMENT, READ_PICKUP_POINT],
    "customer": [READ_PICKUP_POINT],
}

# What a role held at one store conveys (kernel.authz.stores); the rest needs it tenant-wide.
STORE_PERMISSIONS: StorePermissions = store_permissions(
    at_store=[READ_SHIPMENT, MANAGE_SHIPMENT, PROGRESS_SHIPMENT, DISPATCH],
    shared=[READ_PICKUP_POINT],
)
