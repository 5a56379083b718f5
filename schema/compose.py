"""Merge the nine subgraph schemas into the one API a federation gateway would serve.

Types are merged by name. Each field keeps the resolver of the subgraph that defines
it. When a field owned by subgraph S is resolved on an entity object another subgraph
produced (e.g. ``Sku.stock`` on a product ``Sku``), the object is first turned into
S's entity through S's ``resolve_reference``, batched per request by a DataLoader and
authorized with S's entity permission: in-process, exactly what a gateway's
``_entities`` fetch does (at the object's store when it has one, for roles held there). Federation plumbing (``_entities``, ``_service``, ``_Any``,
``link__*``, federation directives) stays out of the API, as a gateway hides it.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLType,
    GraphQLUnionType,
    default_field_resolver,
    specified_directives,
)
from strawberry import Info as StrawberryInfo
from strawberry.dataloader import DataLoader
from strawberry.federation.schema_directives import Key
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import get_object_definition

from kernel.authz.permissions import Permission
from kernel.context import RequestContext
from kernel.graphql.prefetch import MISSING, PREFETCH_KEY, Prefetch, peek, prefetch_of, prime
from kernel.graphql.resolvers import ATTRIBUTE, OWNER, lean_resolvers
from kernel.graphql.subgraph import (
    FEDERATION_ROOT_FIELDS,
    Subgraph,
    allows_reference,
    authorize_reference,
    guard_root_fields,
)

FEDERATION_TYPES = {"_Any", "_Entity", "_FieldSet", "_Service", "FieldSet"}
KEY_FIELD = "id"


def _is_plumbing(name: str) -> bool:
    return (
        name.startswith("__")
        or name in FEDERATION_TYPES
        or name.startswith(("link__", "federation__", "join__"))
    )


@dataclass(frozen=True)
class _EntityOwner:
    """How to turn any object with an ``id`` into subgraph S's entity class."""

    subgraph: Subgraph
    typename: str
    cls: type

    @property
    def permission(self) -> Permission:
        return self.subgraph.entity_permissions[self.typename]

    def authorize(self, parent: Any, context: RequestContext) -> None:
        # An object the caller already reads that belongs to a store (an order, say):
        # what hangs off it belongs to that store too, so a role held there suffices.
        store = getattr(parent, "store_id", None)
        if isinstance(store, uuid.UUID):
            context.authorize_at(self.permission, store)
        else:
            authorize_reference(
                context, self.typename, self.permission, self.subgraph.store_narrowed_entities
            )

    def allows(self, parent: Any, context: RequestContext) -> bool:
        """``authorize``'s decision without refusing (for prefetching)."""
        store = getattr(parent, "store_id", None)
        if isinstance(store, uuid.UUID):
            return context.allows_at(self.permission, store)
        return allows_reference(
            context, self.typename, self.permission, self.subgraph.store_narrowed_entities
        )

    def convert(self, parent: Any, info: GraphQLResolveInfo[RequestContext]) -> Any:
        """S's entity for ``parent`` (or None), or an awaitable of it when S must load it."""
        context: RequestContext = info.context
        self.authorize(parent, context)
        if self._is_stub:
            return self.cls(id=str(parent.id))  # a stub: the key is all it holds
        loader = self._loader(context, info)
        key = str(parent.id)
        entity = peek(loader, key)
        return loader.load(key) if entity is MISSING else entity

    async def entities(
        self, parents: Sequence[Any], info: GraphQLResolveInfo[RequestContext]
    ) -> list[Any]:
        """S's entities of the parents the caller may reference, loaded in one batch."""
        context: RequestContext = info.context
        allowed = [p for p in parents if self.allows(p, context)]
        if self._is_stub:
            return [self.cls(id=str(p.id)) for p in allowed]
        loader = self._loader(context, info)
        keys = [str(p.id) for p in allowed]
        await prime(loader, keys)
        found = (peek(loader, key) for key in keys)
        return [e for e in found if e is not None and e is not MISSING]

    @property
    def _is_stub(self) -> bool:
        return getattr(self.cls, "resolve_reference", None) is None

    def _loader(
        self, context: RequestContext, info: GraphQLResolveInfo[RequestContext]
    ) -> DataLoader[str, Any]:
        loader: DataLoader[str, Any] = context.loader(
            ("entity", self.subgraph.name, self.typename),
            lambda: DataLoader(load_fn=lambda ids: self._load(ids, info)),
        )
        return loader

    async def _load(
        self, ids: Sequence[str], info: GraphQLResolveInfo[RequestContext]
    ) -> list[Any]:
        resolve_reference = self.cls.resolve_reference  # type: ignore[attr-defined]
        wants_info = "info" in inspect.signature(resolve_reference).parameters
        strawberry_info = StrawberryInfo(_raw_info=info, _field=None)  # type: ignore[arg-type]

        async def one(entity_id: str) -> Any:
            kwargs: dict[str, Any] = {"id": entity_id}
            if wants_info:
                kwargs["info"] = strawberry_info
            result = resolve_reference(**kwargs)
            return await result if inspect.isawaitable(result) else result

        return list(await asyncio.gather(*(one(i) for i in ids)))


def _entity_field_resolver(resolve: Callable[..., Any], owner: _EntityOwner) -> Callable[..., Any]:
    async def via_reference(
        pending: Awaitable[Any], info: GraphQLResolveInfo[RequestContext], kwargs: dict[str, Any]
    ) -> Any:
        entity = await pending
        if entity is None:
            return None
        result = resolve(entity, info, **kwargs)
        return await result if inspect.isawaitable(result) else result

    def resolver(parent: Any, info: GraphQLResolveInfo[RequestContext], **kwargs: Any) -> Any:
        if isinstance(parent, owner.cls):
            return resolve(parent, info, **kwargs)
        entity = owner.convert(parent, info)
        if inspect.isawaitable(entity):
            return via_reference(entity, info, kwargs)
        if entity is None:
            return None
        return resolve(entity, info, **kwargs)

    attribute = getattr(resolve, ATTRIBUTE, None)
    if attribute is not None:
        # A plain attribute of S's own objects (kernel.graphql.execution reads it directly).
        setattr(resolver, ATTRIBUTE, attribute)
        setattr(resolver, OWNER, owner.cls)
    return resolver


def _entity_field_prefetch(fn: Prefetch, owner: _EntityOwner) -> Prefetch:
    """S's prefetch of a field, run on S's entities of the parents (see ``convert``)."""

    async def composed(
        info: GraphQLResolveInfo[RequestContext],
        parents: Sequence[Any],
        arguments: Mapping[str, Any],
    ) -> Sequence[Any]:
        mine = [p for p in parents if isinstance(p, owner.cls)]
        others = [p for p in parents if not isinstance(p, owner.cls)]
        if others:
            mine += await owner.entities(others, info)
        return await fn(info, mine, arguments)

    return composed


def _entity_classes(subgraph: Subgraph) -> dict[str, type]:
    """Type name -> strawberry class for every entity of the subgraph."""
    classes: dict[str, type] = {}
    for name, graphql_type in subgraph.graphql_schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        definition = (graphql_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        origin = getattr(definition, "origin", None)
        object_definition = get_object_definition(origin) if isinstance(origin, type) else None
        if object_definition is None or not isinstance(origin, type):
            continue
        if any(isinstance(d, Key) for d in object_definition.directives or []):
            classes[name] = origin
    return classes


class _Merger:
    def __init__(self, subgraphs: Sequence[Subgraph]) -> None:
        self.subgraphs = subgraphs
        self.definitions: dict[str, list[tuple[Subgraph, GraphQLNamedType]]] = {}
        for subgraph in subgraphs:
            for name, graphql_type in subgraph.graphql_schema.type_map.items():
                if not _is_plumbing(name):
                    self.definitions.setdefault(name, []).append((subgraph, graphql_type))
        self.entities = {s.name: _entity_classes(s) for s in subgraphs}
        self.merged: dict[str, GraphQLNamedType] = {}

    def named(self, name: str) -> GraphQLNamedType:
        found = self.merged.get(name)
        if found is None:
            found = self._merge(name)
            self.merged[name] = found
        return found

    def ref(self, graphql_type: GraphQLType) -> Any:
        if isinstance(graphql_type, GraphQLNonNull):
            return GraphQLNonNull(self.ref(graphql_type.of_type))
        if isinstance(graphql_type, GraphQLList):
            return GraphQLList(self.ref(graphql_type.of_type))
        return self.named(cast(GraphQLNamedType, graphql_type).name)

    def _merge(self, name: str) -> GraphQLNamedType:
        definitions = self.definitions[name]
        first = definitions[0][1]
        description = next((d.description for _, d in definitions if d.description), None)
        if isinstance(first, GraphQLObjectType):
            return GraphQLObjectType(
                name, fields=lambda: self._object_fields(name), description=description
            )
        if isinstance(first, GraphQLInputObjectType):
            return GraphQLInputObjectType(
                name,
                fields=lambda: self._input_fields(name),
                description=description,
                out_type=first.out_type,
                is_one_of=first.is_one_of,
            )
        if isinstance(first, GraphQLInterfaceType):
            return GraphQLInterfaceType(
                name,
                fields=lambda: self._object_fields(name),
                description=description,
                resolve_type=first.resolve_type,
            )
        if isinstance(first, GraphQLUnionType):
            return GraphQLUnionType(
                name,
                types=lambda: [
                    cast(GraphQLObjectType, self.named(t.name))
                    for _, u in definitions
                    for t in cast(GraphQLUnionType, u).types
                ],
                description=description,
                resolve_type=first.resolve_type,
            )
        if isinstance(first, GraphQLEnumType):
            for subgraph, other in definitions[1:]:
                if list(cast(GraphQLEnumType, other).values) != list(first.values):
                    raise TypeError(f"enum {name} differs in subgraph {subgraph.name}")
            return first
        if isinstance(first, GraphQLScalarType):
            return first  # strawberry's scalars are the same everywhere they are used
        raise TypeError(f"cannot merge {name}: {type(first).__name__}")

    def _object_fields(self, name: str) -> dict[str, GraphQLField]:
        fields: dict[str, GraphQLField] = {}
        is_root = name in ("Query", "Mutation", "Subscription")
        shared_entity = len(self.definitions[name]) > 1
        for subgraph, graphql_type in self.definitions[name]:
            owner_cls = self.entities[subgraph.name].get(name)
            for field_name, field in cast(GraphQLObjectType, graphql_type).fields.items():
                if field_name in fields or (is_root and field_name in FEDERATION_ROOT_FIELDS):
                    continue
                resolve = field.resolve or default_field_resolver
                extensions = dict(field.extensions or {})
                if shared_entity and owner_cls is not None and field_name != KEY_FIELD:
                    owner = _EntityOwner(subgraph, name, owner_cls)
                    resolve = _entity_field_resolver(resolve, owner)
                    own_prefetch = prefetch_of(field)
                    if own_prefetch is not None:
                        extensions[PREFETCH_KEY] = _entity_field_prefetch(own_prefetch, owner)
                fields[field_name] = GraphQLField(
                    self.ref(field.type),
                    args={n: self._argument(a) for n, a in field.args.items()},
                    resolve=resolve,
                    subscribe=field.subscribe,
                    description=field.description,
                    deprecation_reason=field.deprecation_reason,
                    extensions=extensions,
                )
        return fields

    def _argument(self, argument: GraphQLArgument) -> GraphQLArgument:
        return GraphQLArgument(
            self.ref(argument.type),
            default_value=argument.default_value,
            description=argument.description,
            deprecation_reason=argument.deprecation_reason,
            out_name=argument.out_name,
            extensions=argument.extensions,
        )

    def _input_fields(self, name: str) -> dict[str, GraphQLInputField]:
        fields: dict[str, GraphQLInputField] = {}
        for _, graphql_type in self.definitions[name]:
            for field_name, field in cast(GraphQLInputObjectType, graphql_type).fields.items():
                fields.setdefault(
                    field_name,
                    GraphQLInputField(
                        self.ref(field.type),
                        default_value=field.default_value,
                        description=field.description,
                        deprecation_reason=field.deprecation_reason,
                        out_name=field.out_name,
                        extensions=field.extensions,
                    ),
                )
        return fields

    def root(self, name: str) -> GraphQLObjectType | None:
        if name not in self.definitions:
            return None
        return cast(GraphQLObjectType, self.named(name))


def compose(subgraphs: Sequence[Subgraph]) -> GraphQLSchema:
    """The single-process API schema over ``subgraphs`` (guards applied to each)."""
    for subgraph in subgraphs:
        lean_resolvers(subgraph.schema)
        guard_root_fields(
            subgraph.graphql_schema, subgraph.entity_permissions, subgraph.store_narrowed_entities
        )
    merger = _Merger(subgraphs)
    query = merger.root("Query")
    if query is None:
        raise ValueError("no subgraph defines a Query")
    roots = {"Query", "Mutation", "Subscription"}
    return GraphQLSchema(
        query=query,
        mutation=merger.root("Mutation"),
        subscription=merger.root("Subscription"),
        types=[merger.named(n) for n in merger.definitions if n not in roots],
        directives=specified_directives,
    )


def subgraph_schemas(subgraphs: Sequence[Subgraph]) -> Mapping[str, GraphQLSchema]:
    """Each subgraph as served on its own endpoint (guards applied)."""
    for subgraph in subgraphs:
        lean_resolvers(subgraph.schema)
    return {
        s.name: guard_root_fields(s.graphql_schema, s.entity_permissions, s.store_narrowed_entities)
        for s in subgraphs
    }
