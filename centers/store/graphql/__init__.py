"""The store subgraph: tenants, stores, and the tenant's integrations (plugins,
webhooks, dead letters, delivery health)."""

from __future__ import annotations

import strawberry

from centers.store import callbacks, policy
from centers.store.graphql.plugins import PluginMutation, PluginQuery
from centers.store.graphql.stores import StoreMutation, StoreQuery
from kernel.graphql.subgraph import Subgraph


@strawberry.type
class Query(StoreQuery, PluginQuery):
    pass


@strawberry.type
class Mutation(StoreMutation, PluginMutation):
    pass


subgraph = Subgraph(
    name="store",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation),
    entity_permissions={"Tenant": policy.READ_TENANT, "Store": policy.READ_STORE},
    grants=policy.GRANTS,
    store_permissions=policy.STORE_PERMISSIONS,
    http_routes=callbacks.ROUTES,
)

__all__ = ["subgraph"]
