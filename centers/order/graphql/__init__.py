"""The order subgraph: trade orders, their state machines, and ``orderEvents``.

A caller with ``order.order:read_any`` sees every order of the tenant; anyone else
sees only orders they placed, enforced as an SQL filter on the buyer.
"""

from __future__ import annotations

import strawberry

from centers.order import handlers, policy
from centers.order.graphql.mutations import Mutation
from centers.order.graphql.queries import Query
from centers.order.graphql.subscriptions import Subscription
from kernel.graphql.subgraph import Subgraph

subgraph = Subgraph(
    name="order",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation, subscription=Subscription),
    entity_permissions={
        "Order": policy.READ_ORDER,
        "Store": policy.READ_ORDER,
        "Sku": policy.READ_ORDER,
    },
    grants=policy.GRANTS,
    store_permissions=policy.STORE_PERMISSIONS,
    # References answered only within the caller's stores (roles held at a store).
    store_narrowed_entities=frozenset({"Order"}),
    job_handlers=handlers.JOB_HANDLERS,
    event_handlers=handlers.EVENT_HANDLERS,
)

__all__ = ["subgraph"]
