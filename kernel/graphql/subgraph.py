"""A center's subgraph and the guard every root field passes through.

The guard wraps graphql-core resolvers, so the same check runs whether the subgraph is
served on its own (as a gateway calls it) or merged into the single-process schema.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import GraphQLField, GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema
from starlette.routing import BaseRoute
from strawberry.schema.schema_converter import GraphQLCoreConverter

from kernel.authz.permissions import AUTHENTICATED, Permission, Requirement, RoleGrants
from kernel.authz.stores import StorePermissions
from kernel.context import RequestContext
from kernel.errors import ForbiddenError, InvalidOperationError, UserInputError
from kernel.graphql.fields import (
    NARROWED,
    PERMISSION_KEY,
    STORE_KEY,
    StoreArg,
    StoreBinding,
    StoreOf,
)
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
    # What roles held at a store convey (kernel.authz.stores).
    store_permissions: StorePermissions = field(default_factory=StorePermissions)
    # Entity types whose reference resolves only within the caller's stores (null for
    # another store's), so a role held at a store may reference them (``_entities``).
    store_narrowed_entities: frozenset[str] = frozenset()

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


def declared_store(graphql_field: GraphQLField) -> StoreBinding | None:
    """Where a root field's store is, if a role held at a store may use it."""
    definition = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    metadata = getattr(definition, "metadata", None) or {}
    binding = metadata.get(STORE_KEY)
    if binding is not None and not isinstance(binding, StoreArg | StoreOf | type(NARROWED)):
        raise UndeclaredPermissionError(f"bad store declaration {binding!r}")
    return binding


def root_types(schema: GraphQLSchema) -> list[GraphQLObjectType]:
    return [t for t in (schema.query_type, schema.mutation_type, schema.subscription_type) if t]


def guard_root_fields(
    schema: GraphQLSchema,
    entity_permissions: Mapping[str, Permission],
    store_narrowed: frozenset[str] = frozenset(),
) -> GraphQLSchema:
    """Wrap every root field's resolver with its permission check (idempotent)."""
    for root in root_types(schema):
        for name, graphql_field in root.fields.items():
            if getattr(graphql_field.resolve, "_zhongtai_guarded", False):
                continue
            if name == "_entities":
                graphql_field.resolve = _guard_entities(
                    graphql_field.resolve, entity_permissions, store_narrowed
                )
                continue
            requirement: Requirement | None = (
                AUTHENTICATED if name == "_service" else declared_requirement(graphql_field)
            )
            if requirement is None:
                raise UndeclaredPermissionError(
                    f"{root.name}.{name} declares no permission; use kernel.graphql.fields"
                )
            binding = declared_store(graphql_field)
            if binding is not None and not isinstance(requirement, Permission):
                raise UndeclaredPermissionError(f"{root.name}.{name}: a store needs a permission")
            if graphql_field.subscribe is not None:
                if binding is not None and not isinstance(binding, StoreArg):
                    raise UndeclaredPermissionError(
                        f"{root.name}.{name}: a subscription names its store by argument"
                    )
                graphql_field.subscribe = _guard(graphql_field.subscribe, requirement, binding)
            else:
                graphql_field.resolve = _guard(graphql_field.resolve, requirement, binding)
    return schema


Resolver = Callable[..., Any]


def _default_resolve(root: Any, info: GraphQLResolveInfo[RequestContext], **_: Any) -> Any:
    return getattr(root, info.field_name, None)


def _guard(
    resolve: Resolver | None, requirement: Requirement, binding: StoreBinding | None = None
) -> Resolver:
    inner = resolve or _default_resolve

    def guarded(root: Any, info: GraphQLResolveInfo[RequestContext], **kwargs: Any) -> Any:
        context: RequestContext = info.context
        if binding is None or not isinstance(requirement, Permission):
            context.authorize(requirement)
        elif not context.allows(requirement):
            # Not held tenant-wide: perhaps at the store this call is about.
            return _at_store(context, requirement, binding, inner, root, info, kwargs)
        return inner(root, info, **kwargs)

    guarded._zhongtai_guarded = True  # type: ignore[attr-defined]
    guarded._zhongtai_requirement = requirement  # type: ignore[attr-defined]
    guarded._zhongtai_store = binding  # type: ignore[attr-defined]
    return guarded


def _at_store(
    context: RequestContext,
    permission: Permission,
    binding: StoreBinding,
    inner: Resolver,
    root: Any,
    info: GraphQLResolveInfo[RequestContext],
    kwargs: dict[str, Any],
) -> Any:
    if isinstance(binding, StoreArg):
        stores = _ids(_argument(kwargs, binding.path))
        if len(stores) != 1:
            context.refuse(permission)  # no store named: only a tenant-wide grant passes
        context.authorize_at(permission, stores[0])
        return inner(root, info, **kwargs)
    if isinstance(binding, StoreOf):
        ids = _ids(_argument(kwargs, binding.path))
        if not ids:
            context.refuse(permission)
        return _after_lookup(context, permission, binding, ids, inner, root, info, kwargs)
    if not context.stores(permission):
        context.refuse(permission)  # held nowhere
    return inner(root, info, **kwargs)


async def _after_lookup(
    context: RequestContext,
    permission: Permission,
    binding: StoreOf,
    ids: list[uuid.UUID],
    inner: Resolver,
    root: Any,
    info: GraphQLResolveInfo[RequestContext],
    kwargs: dict[str, Any],
) -> Any:
    found = await binding.find(context.session, context.tenant_id, ids)
    for resource in ids:
        store = found.get(resource)
        if store is None:
            # Not found, or without a store: the same FORBIDDEN another store's gets.
            context.refuse(permission)
        context.authorize_at(permission, store)
    result = inner(root, info, **kwargs)
    return await result if inspect.isawaitable(result) else result


def _argument(kwargs: Mapping[str, Any], path: str) -> Any:
    value: Any = kwargs
    for name in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _ids(value: Any) -> list[uuid.UUID]:
    """The ids an argument holds; empty when any is malformed (the resolver says so)."""
    values = value if isinstance(value, list) else [value]
    ids = []
    for one in values:
        if isinstance(one, uuid.UUID):
            ids.append(one)
            continue
        try:
            ids.append(uuid.UUID(str(one)))
        except ValueError:
            return []
    return list(dict.fromkeys(ids))


def allows_reference(
    context: RequestContext, typename: str, permission: Permission, store_narrowed: frozenset[str]
) -> bool:
    """``authorize_reference``'s decision, without refusing (nothing is recorded)."""
    if typename in store_narrowed and not context.allows(permission):
        return bool(context.stores(permission))
    return context.allows(permission)


def authorize_reference(
    context: RequestContext, typename: str, permission: Permission, store_narrowed: frozenset[str]
) -> None:
    """May the caller reference an entity of ``typename``? Tenant-wide, or, for a type
    whose reference answers only within the caller's stores, held at some store."""
    if typename in store_narrowed and not context.allows(permission):
        if not context.stores(permission):
            context.refuse(permission)
        return
    context.authorize(permission)


# Every entity of ours is keyed by ``id`` (``@key(fields: "id")``) and requires nothing
# else, so a representation is exactly ``{__typename, id}``.
REPRESENTATION_KEYS = frozenset({"__typename", "id"})


def check_representations(context: RequestContext, representations: Sequence[Any]) -> None:
    """Refuse, as client errors, too many representations in one request
    (``max_entity_representations``, ``BAD_OPERATION``) and any that is not
    ``{__typename, id}`` with a string id (``BAD_USER_INPUT``)."""
    limit = context.settings.max_entity_representations if context.settings else None
    context.entity_representations += len(representations)
    if limit is not None and context.entity_representations > limit:
        raise InvalidOperationError(
            f"at most {limit} _entities representations per request"
            f" (this one asks for {context.entity_representations})"
        )
    for index, representation in enumerate(representations):
        field = ["representations", str(index)]
        if not isinstance(representation, dict):
            raise UserInputError(
                f"representation {index} is not an object", code="BAD_USER_INPUT", field=field
            )
        typename = representation.get("__typename")
        if not isinstance(typename, str):
            raise UserInputError(
                f"representation {index} lacks __typename",
                code="BAD_USER_INPUT",
                field=[*field, "__typename"],
            )
        if not isinstance(representation.get("id"), str) or not representation["id"]:
            raise UserInputError(
                f"representation {index} ({typename}) lacks its key field id",
                code="BAD_USER_INPUT",
                field=[*field, "id"],
            )
        unknown = sorted(set(representation) - REPRESENTATION_KEYS)
        if unknown:
            raise UserInputError(
                f"representation {index} ({typename}) has fields other than its key id:"
                f" {', '.join(str(name) for name in unknown)}",
                code="BAD_USER_INPUT",
                field=[*field, str(unknown[0])],
            )


def _guard_entities(
    resolve: Resolver | None,
    permissions: Mapping[str, Permission],
    store_narrowed: frozenset[str] = frozenset(),
) -> Resolver:
    inner = resolve or _default_resolve

    def guarded(root: Any, info: GraphQLResolveInfo[RequestContext], **kwargs: Any) -> Any:
        context: RequestContext = info.context
        representations = kwargs.get("representations") or []
        check_representations(context, representations)
        for representation in representations:
            typename = (
                representation.get("__typename") if isinstance(representation, dict) else None
            )
            permission = permissions.get(typename) if isinstance(typename, str) else None
            if permission is None or not isinstance(typename, str):
                # Fail closed: an entity this subgraph does not declare is not reachable.
                raise ForbiddenError(f"entity {typename!r} cannot be referenced here")
            authorize_reference(context, typename, permission, store_narrowed)
        return inner(root, info, **kwargs)

    guarded._zhongtai_guarded = True  # type: ignore[attr-defined]
    return guarded
