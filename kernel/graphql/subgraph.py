"""A center's subgraph and the guard every root field passes through.

The guard wraps graphql-core resolvers, so the same check runs whether the subgraph is
served on its own (as a gateway calls it) or merged into the single-process schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import GraphQLField, GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema
from starlette.routing import BaseRoute
from strawberry.schema.schema_converter import GraphQLCoreConverter

from kernel.authz.permissions import AUTHENTICATED, Permission, Requirement, RoleGrants
from kernel.context import RequestContext
from kernel.errors import ForbiddenError
from kernel.graphql.fields import PERMISSION_KEY
from kernel.jobs import JobHandler
from kernel.outbox import EventHandler

FEDERATION_ROOT_FIELDS = ("_entities", "_service")


@dataclass(frozen=True)
class Subgraph:
    """Everything the composition root needs from one center."""

    name: str
    schema: strawberry.federation.Schema
    # Entity type name -> what a caller needs to reference it through this subgraph
    # (``_entities`` here, or an in-process entity fetch in composed mode).
    entity_permissions: Mapping[str, Permission]
    grants: RoleGrants = field(default_factory=dict)
    # Durable job kinds this center runs (kernel.jobs), e.g. "order.payment_timeout".
    job_handlers: Mapping[str, JobHandler] = field(default_factory=dict)
    # Other centers' event topics this center reacts to inside the emitting transaction.
    event_handlers: Mapping[str, EventHandler] = field(default_factory=dict)
    # HTTP endpoints outside GraphQL (provider callbacks); each authenticates its caller.
    http_routes: Sequence[BaseRoute] = ()

    @property
    def graphql_schema(self) -> GraphQLSchema:
        return self.schema._schema

    def sdl(self) -> str:
        return self.schema.as_str()


class UndeclaredPermissionError(RuntimeError):
    """A root field without a declared permission: the schema must not be served."""


def declared_requirement(graphql_field: GraphQLField) -> Requirement | None:
    definition = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    metadata = getattr(definition, "metadata", None) or {}
    requirement = metadata.get(PERMISSION_KEY)
    if requirement is None:
        return None
    if not isinstance(requirement, Permission) and requirement is not AUTHENTICATED:
        raise UndeclaredPermissionError(f"bad permission declaration {requirement!r}")
    return requirement


def root_types(schema: GraphQLSchema) -> list[GraphQLObjectType]:
    return [t for t in (schema.query_type, schema.mutation_type, schema.subscription_type) if t]


def guard_root_fields(
    schema: GraphQLSchema, entity_permissions: Mapping[str, Permission]
) -> GraphQLSchema:
    """Wrap every root field's resolver with its permission check (idempotent)."""
    for root in root_types(schema):
        for name, graphql_field in root.fields.items():
            if getattr(graphql_field.resolve, "_zhongtai_guarded", False):
                continue
            if name == "_entities":
                graphql_field.resolve = _guard_entities(graphql_field.resolve, entity_permissions)
                continue
            requirement: Requirement | None = (
                AUTHENTICATED if name == "_service" else declared_requirement(graphql_field)
            )
            if requirement is None:
                raise UndeclaredPermissionError(
                    f"{root.name}.{name} declares no permission; use kernel.graphql.fields"
                )
            if graphql_field.subscribe is not None:
                graphql_field.subscribe = _guard(graphql_field.subscribe, requirement)
            else:
                graphql_field.resolve = _guard(graphql_field.resolve, requirement)
    return schema


Resolver = Callable[..., Any]


def _default_resolve(root: Any, info: GraphQLResolveInfo[RequestContext], **_: Any) -> Any:
    return getattr(root, info.field_name, None)


def _guard(resolve: Resolver | None, requirement: Requirement) -> Resolver:
    inner = resolve or _default_resolve

    def guarded(root: Any, info: GraphQLResolveInfo[RequestContext], **kwargs: Any) -> Any:
        context: RequestContext = info.context
        context.authorize(requirement)
        return inner(root, info, **kwargs)

    guarded._zhongtai_guarded = True  # type: ignore[attr-defined]
    guarded._zhongtai_requirement = requirement  # type: ignore[attr-defined]
    return guarded


def _guard_entities(resolve: Resolver | None, permissions: Mapping[str, Permission]) -> Resolver:
    inner = resolve or _default_resolve

    def guarded(root: Any, info: GraphQLResolveInfo[RequestContext], **kwargs: Any) -> Any:
        context: RequestContext = info.context
        for representation in kwargs.get("representations") or []:
            typename = (
                representation.get("__typename") if isinstance(representation, dict) else None
            )
            permission = permissions.get(typename) if isinstance(typename, str) else None
            if permission is None:
                # Fail closed: an entity this subgraph does not declare is not reachable.
                raise ForbiddenError(f"entity {typename!r} cannot be referenced here")
            context.authorize(permission)
        return inner(root, info, **kwargs)

    guarded._zhongtai_guarded = True  # type: ignore[attr-defined]
    return guarded
