"""Strawberry's resolvers without strawberry's wrapper around every call.

For every field, strawberry installs a graphql-core resolver that builds its ``Info``,
converts the arguments (camelCase names looked up per call, each value converted by its
type), chains the field extensions and only then calls the resolver: a dozen Python
calls per field per object, more than most of our resolvers cost. Where that wrapper
does nothing (no field extension, no exception handler, no argument that needs
converting: only scalars, lists and optionals of them), ``lean_resolvers`` installs a
direct call instead, with the same arguments under the same names:

- a field without a resolver reads its attribute (``getattr``, strawberry's default);
  the resolver is marked ``ATTRIBUTE`` so the executor may read it without a call
  (``kernel.graphql.execution``);
- a field with a resolver gets ``self``/``root``/``parent``, its ``Info`` only if it
  asks for it, and its arguments renamed to their Python names (lists copied, as
  strawberry does, so no request sees another's default).

Any other field keeps strawberry's resolver. Run it on a subgraph's schema before it is
guarded or composed (``schema/compose.py``); it is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import strawberry
from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLType,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryMaybe
from strawberry.types.field import StrawberryField

# On a lean resolver of a plain attribute: the attribute's Python name.
ATTRIBUTE: Final = "_zhongtai_attribute"
# With ATTRIBUTE, on a resolver that reads it only from objects of one class (a field of
# an entity merged by ``schema/compose.py``): that class; other parents need the call.
OWNER: Final = "_zhongtai_owner"
_LEAN: Final = "_zhongtai_lean"

Resolver = Callable[..., Any]


def lean_resolvers(schema: strawberry.Schema) -> None:
    """Replace strawberry's wrapper on every field where it only forwards the call."""
    config = schema.config
    converter = schema.schema_converter
    handlers: tuple[Any, ...] = getattr(converter, "_exception_handler_specs", ())
    if config.default_resolver is not getattr or handlers:
        return  # a custom default resolver or exception handlers: keep strawberry's
    subscriptions = schema._schema.subscription_type
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type is subscriptions:
            continue
        for graphql_field in graphql_type.fields.values():
            lean = _lean(graphql_field, config.info_class, config.name_converter)
            if lean is not None:
                graphql_field.resolve = lean


def _lean(graphql_field: GraphQLField, info_class: type, names: Any) -> Resolver | None:
    current = graphql_field.resolve
    if current is None or getattr(current, _LEAN, False):
        return None
    if getattr(current, "_zhongtai_guarded", False):
        return None  # a root field's permission check (subgraph.py) is never replaced
    definition = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField):
        return None
    if definition.extensions or definition.is_subscription:
        return None
    resolver = definition.base_resolver
    if resolver is None:
        return _attribute(definition.python_name)
    func = resolver.wrapped_func
    if not callable(func):
        return None
    arguments: list[tuple[str, str, bool]] = []
    for argument in resolver.arguments:
        name = names.from_argument(argument)
        graphql_argument = graphql_field.args.get(name)
        if graphql_argument is None or isinstance(argument.type, StrawberryMaybe):
            return None
        depth = _list_depth(graphql_argument.type)
        if depth > 1 or not isinstance(_unwrap(graphql_argument.type), GraphQLScalarType):
            return None  # enums, inputs, nested lists are converted by type: strawberry's
        arguments.append((name, argument.python_name, depth == 1))
    return _call(
        func,
        pass_self=resolver.self_parameter is not None,
        info=resolver.info_parameter.name if resolver.info_parameter else None,
        root=resolver.root_parameter.name if resolver.root_parameter else None,
        parent=resolver.parent_parameter.name if resolver.parent_parameter else None,
        arguments=tuple(arguments),
        info_class=info_class,
        definition=definition,
    )


def _attribute(name: str) -> Resolver:
    def resolve(source: Any, _info: GraphQLResolveInfo[Any], **_arguments: Any) -> Any:
        return getattr(source, name)

    setattr(resolve, ATTRIBUTE, name)
    setattr(resolve, _LEAN, True)
    return resolve


def _call(
    func: Resolver,
    *,
    pass_self: bool,
    info: str | None,
    root: str | None,
    parent: str | None,
    arguments: tuple[tuple[str, str, bool], ...],
    info_class: type,
    definition: StrawberryField,
) -> Resolver:
    if not (arguments or info or root or parent):
        if pass_self:

            def resolve_self(source: Any, _info: GraphQLResolveInfo[Any], **_arguments: Any) -> Any:
                return func(source)

            setattr(resolve_self, _LEAN, True)
            return resolve_self

        def resolve_bare(_source: Any, _info: GraphQLResolveInfo[Any], **_arguments: Any) -> Any:
            return func()

        setattr(resolve_bare, _LEAN, True)
        return resolve_bare

    def resolve(source: Any, graphql_info: GraphQLResolveInfo[Any], **given: Any) -> Any:
        kwargs: dict[str, Any] = {}
        for graphql_name, python_name, is_list in arguments:
            if graphql_name in given:
                value = given[graphql_name]
                kwargs[python_name] = list(value) if is_list and value is not None else value
        if info is not None:
            kwargs[info] = info_class(_raw_info=graphql_info, _field=definition)
        if root is not None:
            kwargs[root] = source
        if parent is not None:
            kwargs[parent] = source
        return func(source, **kwargs) if pass_self else func(**kwargs)

    setattr(resolve, _LEAN, True)
    return resolve


def _unwrap(graphql_type: GraphQLType) -> GraphQLType:
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
    return graphql_type


def _list_depth(graphql_type: GraphQLType) -> int:
    depth = 0
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        depth += isinstance(graphql_type, GraphQLList)
        graphql_type = graphql_type.of_type
    return depth
