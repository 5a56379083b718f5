"""The ``access`` subgraph: a tenant admin manages roles, grants, assignments and API
keys and reads the audit log; a platform admin manages tenants and platform admins.

Every identifier is validated (``kernel.authz.roles``); the tenant is always the
caller's own, never an argument. Writes return the tenant's new policy version.
"""

from __future__ import annotations

import strawberry

from kernel.authz.admin import policy
from kernel.authz.admin.context import directories
from kernel.authz.admin.directory import TenantDirectory
from kernel.authz.admin.mutations import Mutation
from kernel.authz.admin.queries import Query
from kernel.graphql.subgraph import Subgraph


def build_subgraph(directory: TenantDirectory) -> Subgraph:
    """The access subgraph, managing tenants through ``directory``."""
    directories[:] = [directory]
    return subgraph


subgraph = Subgraph(
    name="access",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation),
    entity_permissions={},
    grants=policy.GRANTS,
)
