"""Casbin objects and actions the promotion center declares, and built-in role grants."""

from __future__ import annotations

from kernel.authz.permissions import Permission, RoleGrants
from kernel.authz.stores import StorePermissions, store_permissions

READ_ACTIVITY = Permission("promotion.activity", "read")
MANAGE_ACTIVITY = Permission("promotion.activity", "manage")
READ_COUPON = Permission("promotion.coupon", "read")
MANAGE_COUPON = Permission("promotion.coupon", "manage")
ISSUE_COUPON = Permission("promotion.coupon", "issue")
PRICE_CART = Permission("promotion.price", "read")
# A customer claims coupons for, and reads the coupons of, their own membership only
# (found by their app account), never another member's.
CLAIM_COUPON = Permission("promotion.coupon", "claim")

# Customers read activities and price carts: the shop shows what is on offer and what
# a cart would cost. They claim and read their own coupons; others' are staff work.
GRANTS: RoleGrants = {
    "tenant_admin": [
        READ_ACTIVITY,
        MANAGE_ACTIVITY,
        READ_COUPON,
        MANAGE_COUPON,
        ISSUE_COUPON,
        PRICE_CART,
    ],
    "store_manager": [READ_ACTIVITY, READ_COUPON, ISSUE_COUPON, PRICE_CART],
    "cashier": [READ_ACTIVITY, READ_COUPON, PRICE_CART],
    "customer": [READ_ACTIVITY, PRICE_CART, CLAIM_COUPON],
}

# What a role held at one store conveys (kernel.authz.stores); the rest needs it tenant-wide.
STORE_PERMISSIONS: StorePermissions = store_permissions(
    shared=[READ_ACTIVITY, READ_COUPON, PRICE_CART]
)
