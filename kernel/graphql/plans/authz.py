"""The root guard's decision, asked without side effects.

``kernel.graphql.subgraph._guard`` checks a root field's declared permission (and,
for store permissions, the store the call is about) and records denials for the audit
log. The compiled path asks the same question quietly: only a clean allow compiles;
anything else goes down the generic path, which refuses and records exactly as always.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLField

from kernel.authz.permissions import Permission, Requirement
from kernel.context import RequestContext
from kernel.graphql.fields import NARROWED, StoreArg


def root_allowed(context: RequestContext, field_def: GraphQLField, args: Mapping[str, Any]) -> bool:
    requirement: Requirement | None = getattr(field_def.resolve, "_zhongtai_requirement", None)
    if requirement is None:
        return False  # not guarded: never compiled
    binding = getattr(field_def.resolve, "_zhongtai_store", None)
    if context.allows(requirement):
        return True
    if binding is None or not isinstance(requirement, Permission):
        return False
    if binding is NARROWED:
        return bool(context.stores(requirement))
    if isinstance(binding, StoreArg):
        value: Any = args
        for name in binding.path.split("."):
            value = value.get(name) if isinstance(value, Mapping) else None
        try:
            store = uuid.UUID(str(value))
        except ValueError:
            return False
        return value is not None and context.allows_at(requirement, store)
    return False  # StoreOf needs a lookup: the generic path does it


def reference_allowed(
    context: RequestContext,
    typename: str,
    permission: Permission,
    store_narrowed: frozenset[str],
) -> bool:
    """``kernel.graphql.subgraph.authorize_reference`` without raising: may the caller
    turn an object into another subgraph's ``typename`` entity (composed mode)?"""
    if typename in store_narrowed and not context.allows(permission):
        return bool(context.stores(permission))
    return context.allows(permission)
