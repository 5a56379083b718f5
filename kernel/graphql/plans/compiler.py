"""Compile a query document, once, into one SQL statement that builds its ``data``.

The compiler walks the operation's selections with the centers' maps
(``kernel.graphql.plans.maps``). It gives up (``None``: the generic path serves the
document) on anything a map does not declare and on what it does not handle: a
mutation or subscription, a directive, a fragment on another type, a response key
selected twice. What it builds depends only on the document; what depends on the
request (the caller's scope, argument values) is bound per request by ``Plan.bind``.

Parameter ``$1`` is always the tenant; fields with arguments take the next ones, in
document order; each root field's filters and page follow, allocated per request. The
same document and the same kind of caller give the same SQL text, which asyncpg
prepares once per connection.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
)
from graphql.execution.values import VariableValues, get_argument_values
from graphql.type.definition import get_named_type

from kernel.context import RequestContext
from kernel.errors import UserInputError
from kernel.graphql.pagination import page_request
from kernel.graphql.plans.authz import root_allowed
from kernel.graphql.plans.maps import (
    Binder,
    Composite,
    ConnectionRoot,
    FieldMap,
    Leaf,
    ObjectRoot,
    OneRow,
    RootMap,
    Rows,
    Unplannable,
    WithArgs,
)

# json_build_object takes at most 100 arguments: 50 keys.
MAX_KEYS = 50

# Type name -> field name -> map, merged from every center.
FieldMaps = Mapping[str, Mapping[str, FieldMap]]


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def object_sql(pairs: Sequence[tuple[str, str]]) -> str:
    if len(pairs) > MAX_KEYS:
        raise Unplannable("too many keys for json_build_object")
    return "json_build_object(" + ", ".join(f"{sql_string(k)}, {v}" for k, v in pairs) + ")"


def cursor_sql(alias: str) -> str:
    """``encode_cursor([row.id])``: base64url of ``["<uuid>"]`` without padding."""
    raw = f"convert_to('[\"' || {alias}.id::text || '\"]', 'UTF8')"
    return f"rtrim(translate(encode({raw}, 'base64'), '+/', '-_'), '=')"


def _uses_variables(value: Any) -> bool:
    """Whether a field's arguments (or a value within them) refer to a variable."""
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, FieldNode):
        return any(_uses_variables(a.value) for a in value.arguments or ())
    if isinstance(value, ListValueNode):
        return any(_uses_variables(v) for v in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_uses_variables(f.value) for f in value.fields)
    return False


class _Arguments:
    """A field's argument values: computed once when the document spells them all out,
    else per request from the variables."""

    def __init__(self, field_def: GraphQLField, node: FieldNode) -> None:
        self.field_def, self.node = field_def, node
        self.constant: dict[str, Any] | None = (
            None if _uses_variables(node) else get_argument_values(field_def, node, None)
        )

    def of(self, variables: VariableValues) -> dict[str, Any]:
        if self.constant is not None:
            return self.constant
        return get_argument_values(self.field_def, self.node, variables)


@dataclass(frozen=True, slots=True)
class _Site:
    """A field with arguments: its parameters are bound per request, in order."""

    arguments: _Arguments
    mapping: WithArgs


@dataclass(frozen=True, slots=True)
class _Root:
    field_def: GraphQLField
    arguments: _Arguments
    root_map: RootMap
    alias: str
    # ObjectRoot: the object over ``alias``. ConnectionRoot: the connection's keys, each
    # "edges", "pageInfo" or a constant; the edge's keys (node JSON or "cursor"); the
    # page info's keys (its field names or a constant).
    body: str
    connection: Sequence[tuple[str, str]] = ()
    edge: Sequence[tuple[str, str]] = ()
    page_info: Sequence[tuple[str, str]] = ()
    # The statement text per shape of the request's filters (they hold their $n).
    texts: dict[tuple[Any, ...], str] = field(default_factory=dict)

    @property
    def wants_previous(self) -> bool:
        return any(value == "hasPreviousPage" for _, value in self.page_info)


_PAGE_FIELDS = {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}


class Plan:
    """A compiled document: ``bind`` gives the statement and parameters of a request."""

    def __init__(self, sites: Sequence[_Site], roots: Sequence[tuple[str, _Root | str]]) -> None:
        self._sites = sites
        self._roots = roots  # a string: a constant (``__typename``)
        self._texts: dict[tuple[str, ...], str] = {}

    def bind(
        self, context: RequestContext, variables: VariableValues
    ) -> tuple[str, list[Any]] | None:
        """The statement and its parameters, or ``None``: the generic path answers
        (an authorization outcome other than a clean allow, an argument it refuses)."""
        values: list[Any] = [context.tenant_id]
        for site in self._sites:
            args = site.arguments.of(variables)
            if site.mapping.allowed is not None and not site.mapping.allowed(context, args):
                return None
            values.extend(param.value(args) for param in site.mapping.params)
        binder = Binder(values)
        parts: list[str] = []
        for _, root in self._roots:
            sql = root if isinstance(root, str) else _bind_root(root, context, variables, binder)
            if sql is None:
                return None
            parts.append(sql)
        shape = tuple(parts)
        text = self._texts.get(shape)
        if text is None:
            pairs = [(key, sql) for (key, _), sql in zip(self._roots, parts, strict=True)]
            text = self._texts[shape] = f"SELECT {object_sql(pairs)}::text"
        return text, values


def _bind_root(
    root: _Root, context: RequestContext, variables: VariableValues, bind: Binder
) -> str | None:
    args = root.arguments.of(variables)
    if not root_allowed(context, root.field_def, args):
        return None
    root_map = root.root_map
    if isinstance(root_map, ConnectionRoot):
        try:
            page = page_request(args["first"], args.get("after"))
            after = page.after_id()
        except (UserInputError, KeyError, TypeError):
            return None  # the generic path answers the input error
    found = root_map.scope(context, args, bind)
    if found is None:
        return None
    if isinstance(root_map, ObjectRoot):
        key: tuple[Any, ...] = tuple(found.conditions)
        text = root.texts.get(key)
        if text is None:
            text = root.texts[key] = _object_text(root, found.conditions)
        return text
    # The page's parameters, always in this order (the text's placeholders follow it).
    extra = [bind(after, "uuid")] if after is not None else []
    first = bind(page.limit - 1, "int")
    previous = bind(page.after is not None, "boolean") if root.wants_previous else ""
    limit = bind(page.limit, "int")
    key = (tuple(found.conditions), *extra, first, previous, limit)
    text = root.texts.get(key)
    if text is None:
        text = root.texts[key] = _connection_text(
            root, found.conditions, extra, first, previous, limit
        )
    return text


def _where(alias: str, conditions: Sequence[str]) -> str:
    return " AND ".join(
        [f"{alias}.tenant_id = $1::uuid", *(c.replace("{row}", alias) for c in conditions)]
    )


def _object_text(root: _Root, conditions: Sequence[str]) -> str:
    assert isinstance(root.root_map, ObjectRoot)
    alias = root.alias
    where = _where(alias, conditions)
    return f"(SELECT {root.body} FROM {root.root_map.table} {alias} WHERE {where} LIMIT 1)"


def _connection_text(
    root: _Root,
    conditions: Sequence[str],
    after: Sequence[str],
    first: str,
    previous: str,
    limit: str,
) -> str:
    root_map = root.root_map
    assert isinstance(root_map, ConnectionRoot)
    alias = root.alias
    direction, reverse = ("ASC", "DESC") if root_map.ascending else ("DESC", "ASC")
    where = _where(alias, conditions)
    if after:
        where += f" AND {alias}.id {'>' if root_map.ascending else '<'} {after[0]}"
    rows, shown = f"{alias}_rows", f"{alias}_page"
    cursor = cursor_sql(alias)
    page_info: list[tuple[str, str]] = []
    for key, value in root.page_info:
        if value == "hasNextPage":
            value = f"((SELECT count(*) FROM {rows}) > {first})"
        elif value == "hasPreviousPage":
            value = previous
        elif value == "startCursor":
            value = (
                f"(SELECT {cursor} FROM {shown} {alias} ORDER BY {alias}.id {direction} LIMIT 1)"
            )
        elif value == "endCursor":
            value = f"(SELECT {cursor} FROM {shown} {alias} ORDER BY {alias}.id {reverse} LIMIT 1)"
        page_info.append((key, value))
    edge = [(k, cursor if v == "cursor" else v) for k, v in root.edge]
    parts: list[tuple[str, str]] = []
    for key, value in root.connection:
        if value == "edges":
            value = (
                f"coalesce((SELECT json_agg({object_sql(edge)} ORDER BY {alias}.id {direction}) "
                f"FROM {shown} {alias}), '[]'::json)"
            )
        elif value == "pageInfo":
            value = object_sql(page_info)
        parts.append((key, value))
    return (
        f"(WITH {rows} AS MATERIALIZED (SELECT * FROM {root_map.table} {alias} "
        f"WHERE {where} ORDER BY {alias}.id {direction} LIMIT {limit}), "
        f"{shown} AS (SELECT * FROM {rows} {alias} ORDER BY {alias}.id {direction} "
        f"LIMIT {first}) SELECT {object_sql(parts)})"
    )


class Compiler:
    """Compiles one document against the composed schema and the centers' maps."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fields: FieldMaps,
        roots: Mapping[str, RootMap],
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
    ) -> None:
        self._schema = schema
        self._fields = fields
        self._root_maps = roots
        self._operation = operation
        self._fragments = fragments
        self._aliases = (f"t{n}" for n in itertools.count())
        self._sites: list[_Site] = []

    def compile(self) -> Plan:
        operation = self._operation
        query = self._schema.query_type
        if operation.operation != OperationType.QUERY or operation.directives or query is None:
            raise Unplannable("only queries")
        roots: list[tuple[str, _Root | str]] = []
        for key, node in self._selections(operation.selection_set, query.name):
            if node.name.value == "__typename":
                roots.append((key, sql_string(query.name)))
                continue
            root_map = self._root_maps.get(node.name.value)
            field_def = query.fields.get(node.name.value)
            if root_map is None or field_def is None:
                raise Unplannable(f"root field {node.name.value} is not mapped")
            roots.append((key, self._root(node, field_def, root_map)))
        return Plan(self._sites, roots)

    def _root(self, node: FieldNode, field_def: GraphQLField, root_map: RootMap) -> _Root:
        alias = next(self._aliases)
        if node.selection_set is None:
            raise Unplannable("a root object without selections")
        if isinstance(root_map, ObjectRoot):
            body = self._object(root_map.type_name, node.selection_set, alias)
            return _Root(field_def, _Arguments(field_def, node), root_map, alias, body)
        connection_type = get_named_type(field_def.type)
        if not isinstance(connection_type, GraphQLObjectType):
            raise Unplannable("a connection is an object")
        connection: list[tuple[str, str]] = []
        edge: list[tuple[str, str]] = []
        page_info: list[tuple[str, str]] = []
        for key, child in self._selections(node.selection_set, connection_type.name):
            name = child.name.value
            child_type = (
                get_named_type(connection_type.fields[name].type)
                if name in connection_type.fields
                else None
            )
            if name == "__typename":
                connection.append((key, sql_string(connection_type.name)))
            elif name == "edges" and child.selection_set is not None and child_type is not None:
                if edge:
                    raise Unplannable("edges selected twice")
                connection.append((key, "edges"))
                for edge_key, part in self._selections(child.selection_set, child_type.name):
                    part_name = part.name.value
                    if part_name == "__typename":
                        edge.append((edge_key, sql_string(child_type.name)))
                    elif part_name == "cursor":
                        edge.append((edge_key, "cursor"))
                    elif part_name == "node" and part.selection_set is not None:
                        node_sql = self._object(root_map.type_name, part.selection_set, alias)
                        edge.append((edge_key, node_sql))
                    else:
                        raise Unplannable(f"edge field {part_name}")
            elif name == "pageInfo" and child.selection_set is not None and child_type is not None:
                if page_info:
                    raise Unplannable("pageInfo selected twice")
                connection.append((key, "pageInfo"))
                for info_key, part in self._selections(child.selection_set, child_type.name):
                    part_name = part.name.value
                    if part_name == "__typename":
                        page_info.append((info_key, sql_string(child_type.name)))
                    elif part_name in _PAGE_FIELDS:
                        page_info.append((info_key, part_name))
                    else:
                        raise Unplannable(f"page info field {part_name}")
            else:
                raise Unplannable(f"connection field {name}")
        return _Root(
            field_def, _Arguments(field_def, node), root_map, alias, "", connection, edge, page_info
        )

    def _object(self, type_name: str, selection_set: SelectionSetNode, alias: str) -> str:
        """The JSON object of the selections on row ``alias`` of ``type_name``."""
        mapped = self._fields.get(type_name, {})
        graphql_type = self._schema.get_type(type_name)
        if not isinstance(graphql_type, GraphQLObjectType):
            raise Unplannable(f"{type_name} is not an object type")
        pairs: list[tuple[str, str]] = []
        for key, node in self._selections(selection_set, type_name):
            name = node.name.value
            if name == "__typename":
                pairs.append((key, sql_string(type_name)))
                continue
            field_map = mapped.get(name)
            field_def = graphql_type.fields.get(name)
            if field_map is None or field_def is None:
                raise Unplannable(f"{type_name}.{name} is not mapped")
            if isinstance(field_map, WithArgs):
                self._sites.append(_Site(_Arguments(field_def, node), field_map))
                first = len(self._params()) + 2 - len(field_map.params)
                placeholders = [
                    f"${first + n}::{p.sql_type}" for n, p in enumerate(field_map.params)
                ]
                field_map = field_map.build(placeholders)
            elif node.arguments:
                raise Unplannable(f"{type_name}.{name} takes arguments the map ignores")
            pairs.append((key, self._field(field_map, node, alias)))
        return object_sql(pairs)

    def _params(self) -> list[Any]:
        return [p for site in self._sites for p in site.mapping.params]

    def _field(self, field_map: FieldMap, node: FieldNode, alias: str) -> str:
        if isinstance(field_map, Leaf):
            if node.selection_set is not None:
                raise Unplannable("a leaf with selections")
            return field_map.sql.replace("{row}", alias)
        if node.selection_set is None:
            raise Unplannable("an object without selections")
        if isinstance(field_map, Composite):
            pairs: list[tuple[str, str]] = []
            for key, child in self._selections(node.selection_set, field_map.type_name):
                name = child.name.value
                if name == "__typename":
                    pairs.append((key, sql_string(field_map.type_name)))
                    continue
                part = field_map.fields.get(name)
                if part is None or child.arguments:
                    raise Unplannable(f"{field_map.type_name}.{name} is not mapped")
                pairs.append((key, self._field(part, child, alias)))
            return object_sql(pairs)
        if isinstance(field_map, Rows):
            child_alias = next(self._aliases)
            built = self._object(field_map.type_name, node.selection_set, child_alias)
            where = field_map.where.replace("{row}", alias).replace("{child}", child_alias)
            order = field_map.order.replace("{child}", child_alias)
            source = field_map.source.replace("{row}", alias)
            return (
                f"coalesce((SELECT json_agg({built} ORDER BY {order}) "
                f"FROM {source} {child_alias} WHERE {where}), '[]'::json)"
            )
        if isinstance(field_map, OneRow):
            child_alias = next(self._aliases)
            built = self._object(field_map.type_name, node.selection_set, child_alias)
            source = field_map.sql.replace("{row}", alias)
            return f"(SELECT {built} FROM ({source}) {child_alias})"
        raise Unplannable("arguments within arguments")

    def _selections(
        self, selection_set: SelectionSetNode, type_name: str
    ) -> Iterator[tuple[str, FieldNode]]:
        """(response key, field) in order, through fragments on ``type_name`` itself."""
        seen: set[str] = set()
        for node in self._flatten(selection_set, type_name, depth=0):
            key = node.alias.value if node.alias else node.name.value
            if key in seen:
                raise Unplannable(f"{key} selected twice")
            seen.add(key)
            yield key, node

    def _flatten(
        self, selection_set: SelectionSetNode, type_name: str, depth: int
    ) -> Iterator[FieldNode]:
        if depth > 8:
            raise Unplannable("fragments nested too deep")
        for selection in selection_set.selections:
            if selection.directives:
                raise Unplannable("directives")
            if isinstance(selection, FieldNode):
                yield selection
                continue
            if isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments.get(selection.name.value)
                if fragment is None or fragment.directives:
                    raise Unplannable("fragment")
                condition: str | None = fragment.type_condition.name.value
                inner = fragment.selection_set
            elif isinstance(selection, InlineFragmentNode):
                condition = (
                    selection.type_condition.name.value if selection.type_condition else None
                )
                inner = selection.selection_set
            else:  # pragma: no cover - graphql-core has no other selection
                raise Unplannable("selection")
            if condition is not None and condition != type_name:
                raise Unplannable("a fragment on another type")
            yield from self._flatten(inner, type_name, depth + 1)
