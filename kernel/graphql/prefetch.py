"""Resolving a page at its root: what the selection asks for, for the whole page, one
statement per level, so that every field below answers synchronously.

graphql-core resolves field by field. A resolver that awaits a DataLoader costs a
coroutine, a future, a batch dispatch and a ``gather`` for every object of the page,
several times the work of returning the value. So:

- A field that loads through a per-request DataLoader declares a *prefetch*
  (``strawberry.field(metadata=prefetch(fn))``): ``fn(info, parents, arguments)``
  loads what the field needs for every parent of a level at once (one statement, through
  the same loader, which it primes) and returns the children, the next level's parents.
  A prefetch never raises for the caller's input or permissions: it skips what it
  cannot load, and the field's resolver answers and errs exactly as it would without it.
- The field's resolver is synchronous when its data is loaded: ``loaded(...)`` returns
  the built value at once, and only when nothing was loaded (a single object, a mutation
  payload, a field no walk reached) an awaitable that loads it as before.
- A root field returning a page calls ``await prefetch_page(info, nodes)`` before it
  returns: it walks the operation's selection below ``edges { node }`` (fragments,
  aliases and ``@skip``/``@include`` included) and runs the prefetch of every selected
  field that has one, level by level.

The statements are those the resolvers would send through the same loaders, so a page
costs the same number of statements with or without the walk; only the Python per field
goes. ``schema/compose.py`` gives cross-subgraph fields a prefetch that first turns the
parents into the owning subgraph's entities.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeAlias, TypeVar

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSkipDirective,
    InlineFragmentNode,
    NamedTypeNode,
    SelectionSetNode,
    get_argument_values,
    get_directive_values,
    get_named_type,
    is_abstract_type,
)
from strawberry import Info
from strawberry.annotation import StrawberryAnnotation
from strawberry.dataloader import DataLoader
from strawberry.schema.schema_converter import GraphQLCoreConverter

from kernel.context import RequestContext

KeyT = TypeVar("KeyT", bound=Hashable)
ValueT = TypeVar("ValueT")
BuiltT = TypeVar("BuiltT")

PREFETCH_KEY = "zhongtai.prefetch"

# (the page's root field's info: its ``context`` is the request's; the parents of one
# level; the field's arguments by GraphQL name) -> the children: the next level's parents.
Prefetch: TypeAlias = Callable[
    [GraphQLResolveInfo[RequestContext], Sequence[Any], Mapping[str, Any]],
    Awaitable[Sequence[Any]],
]
MaybeAwaitable: TypeAlias = BuiltT | Awaitable[BuiltT]


class Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = Missing()
_MEMO = "_zhongtai_built"


def prefetch(fn: Prefetch, metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A field's metadata declaring its prefetch (``strawberry.field(metadata=...)``)."""
    return {**(metadata or {}), PREFETCH_KEY: fn}


def field_type(annotation: str, namespace: dict[str, Any]) -> StrawberryAnnotation:
    """A field's GraphQL type for ``strawberry.field(graphql_type=...)``, when its resolver
    returns ``MaybeAwaitable[...]`` (which strawberry cannot read), named as a string
    evaluated in ``namespace`` (the module's ``globals()``) once every class exists."""
    return StrawberryAnnotation(annotation, namespace=namespace)  # read later, not copied


def prefetch_of(graphql_field: GraphQLField) -> Prefetch | None:
    """The prefetch a field declares (``schema/compose.py`` may set one on a merged field)."""
    extensions = graphql_field.extensions or {}
    found = extensions.get(PREFETCH_KEY)
    if found is None:
        definition = extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        found = (getattr(definition, "metadata", None) or {}).get(PREFETCH_KEY)
    return found


def peek(loader: DataLoader[KeyT, ValueT], key: KeyT) -> ValueT | Missing:
    """The value ``loader`` already holds for ``key``, else ``MISSING`` (also while it
    is being loaded, or when loading it failed)."""
    future = loader.cache_map.get(key)
    if future is None or not future.done() or future.cancelled() or future.exception():
        return MISSING
    value: ValueT = future.result()
    return value


async def prime(loader: DataLoader[KeyT, ValueT], keys: Iterable[KeyT]) -> None:
    """Load every key ``loader`` does not hold yet, in one call of its batch function."""
    missing = [key for key in dict.fromkeys(keys) if loader.cache_map.get(key) is None]
    if not missing:
        return
    values = list(await loader.load_fn(missing))
    loader.prime_many(
        {
            key: value
            for key, value in zip(missing, values, strict=True)
            if not isinstance(value, BaseException)
        }
    )


def loaded(
    owner: object,
    name: str,
    loader: DataLoader[KeyT, ValueT],
    key: KeyT,
    build: Callable[[ValueT], BuiltT],
) -> MaybeAwaitable[BuiltT]:
    """``build(value of key)``, built once per ``owner`` (the parent object) under
    ``name``: at once when ``loader`` holds the value, else an awaitable that loads it."""
    memo: dict[str, Any] | None = owner.__dict__.get(_MEMO)
    if memo is not None and name in memo:
        built: BuiltT = memo[name]
        return built
    value = peek(loader, key)
    if isinstance(value, Missing):
        return _load_then_build(owner, name, loader, key, build)
    return _remember(owner, name, build(value))


async def _load_then_build(
    owner: object,
    name: str,
    loader: DataLoader[KeyT, ValueT],
    key: KeyT,
    build: Callable[[ValueT], BuiltT],
) -> BuiltT:
    return _remember(owner, name, build(await loader.load(key)))


def _remember(owner: object, name: str, built: BuiltT) -> BuiltT:
    owner.__dict__.setdefault(_MEMO, {})[name] = built
    return built


def ready(value: MaybeAwaitable[BuiltT]) -> BuiltT | Missing:
    """A resolver's answer when it is already there (after a prefetch), else ``MISSING``."""
    if isinstance(value, Awaitable):
        # Not loaded after all (e.g. its key failed): the resolver loads it itself later.
        if hasattr(value, "close"):
            value.close()
        return MISSING
    return value


async def prefetch_page(
    info: GraphQLResolveInfo[RequestContext] | Info[RequestContext, Any],
    nodes: Sequence[Any],
    through: Sequence[str] = ("edges", "node"),
) -> None:
    """Run the prefetches the selection of the current field asks for, below ``through``
    (a connection's ``edges { node }``; ``()`` for a list of objects), for ``nodes``."""
    if not nodes:
        return
    if isinstance(info, Info):
        info = info._raw_info
    field_nodes: list[FieldNode] = list(info.field_nodes)
    named = get_named_type(info.return_type)
    for step in through:
        if not isinstance(named, GraphQLObjectType):
            return
        field_nodes = _collect(info, named, field_nodes).get_all(step)
        graphql_field = named.fields.get(step)
        if not field_nodes or graphql_field is None:
            return
        named = get_named_type(graphql_field.type)
    if isinstance(named, GraphQLObjectType):
        await _level(info, named, field_nodes, nodes)


async def _level(
    info: GraphQLResolveInfo[RequestContext],
    object_type: GraphQLObjectType,
    field_nodes: Sequence[FieldNode],
    parents: Sequence[Any],
) -> None:
    for selections in _collect(info, object_type, field_nodes).by_key.values():
        graphql_field = object_type.fields.get(selections[0].name.value)
        if graphql_field is None:
            continue  # __typename
        fn = prefetch_of(graphql_field)
        if fn is None:
            continue
        arguments = get_argument_values(graphql_field, selections[0], info.variable_values)
        children = await fn(info, parents, arguments)
        child_type = get_named_type(graphql_field.type)
        if children and isinstance(child_type, GraphQLObjectType):
            await _level(info, child_type, selections, children)


class _Collected:
    """The selected fields of one object type, by response key (alias or name)."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[FieldNode]] = {}

    def add(self, node: FieldNode) -> None:
        key = node.alias.value if node.alias else node.name.value
        self.by_key.setdefault(key, []).append(node)

    def get_all(self, name: str) -> list[FieldNode]:
        """Every selection of the field ``name``, whatever its alias."""
        return [n for nodes in self.by_key.values() for n in nodes if n.name.value == name]


def _collect(
    info: GraphQLResolveInfo[RequestContext],
    object_type: GraphQLObjectType,
    field_nodes: Sequence[FieldNode],
) -> _Collected:
    collected = _Collected()
    for node in field_nodes:
        if node.selection_set is not None:
            _visit(info, object_type, node.selection_set, collected, set())
    return collected


def _visit(
    info: GraphQLResolveInfo[RequestContext],
    object_type: GraphQLObjectType,
    selection_set: SelectionSetNode,
    collected: _Collected,
    fragments_seen: set[str],
) -> None:
    for selection in selection_set.selections:
        if selection.directives and not _included(info, selection):
            continue
        if isinstance(selection, FieldNode):
            collected.add(selection)
        elif isinstance(selection, InlineFragmentNode):
            if _applies(info, selection.type_condition, object_type):
                _visit(info, object_type, selection.selection_set, collected, fragments_seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = info.fragments.get(name)
            if fragment is None or name in fragments_seen:
                continue
            fragments_seen.add(name)
            if _applies(info, fragment.type_condition, object_type):
                _visit(info, object_type, fragment.selection_set, collected, fragments_seen)


def _included(info: GraphQLResolveInfo[RequestContext], node: Any) -> bool:
    skip = get_directive_values(GraphQLSkipDirective, node, info.variable_values)
    if skip is not None and skip.get("if") is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, info.variable_values)
    return not (include is not None and include.get("if") is False)


def _applies(
    info: GraphQLResolveInfo[RequestContext],
    condition: NamedTypeNode | None,
    object_type: GraphQLObjectType,
) -> bool:
    if condition is None or condition.name.value == object_type.name:
        return True
    named = info.schema.get_type(condition.name.value)
    if named is None or not is_abstract_type(named):
        return False
    abstract: GraphQLAbstractType = named
    return info.schema.is_sub_type(abstract, object_type)
