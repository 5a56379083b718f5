"""The promotion subgraph: activities and their rules, coupons, and cart pricing."""

from __future__ import annotations

import strawberry

from centers.promotion import policy
from centers.promotion.graphql.activities import ActivityMutation, ActivityQuery
from centers.promotion.graphql.coupons import (
    CouponMutation,
    CouponQuery,
    OwnCouponMutation,
    OwnCouponQuery,
)
from centers.promotion.graphql.pricing import PricingQuery
from centers.promotion.graphql.skus import Sku
from kernel.graphql.subgraph import Subgraph


@strawberry.type
class Query(ActivityQuery, CouponQuery, OwnCouponQuery, PricingQuery):
    pass


@strawberry.type
class Mutation(ActivityMutation, CouponMutation, OwnCouponMutation):
    pass


subgraph = Subgraph(
    name="promotion",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation, types=[Sku]),
    entity_permissions={
        "PromotionActivity": policy.READ_ACTIVITY,
        "CouponTemplate": policy.READ_COUPON,
        # Referencing a Sku here reveals only the activities on it.
        "Sku": policy.READ_ACTIVITY,
    },
    grants=policy.GRANTS,
    store_permissions=policy.STORE_PERMISSIONS,
)
