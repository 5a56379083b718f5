"""Operation limits: tokens at parse time; depth, aliases, cost and introspection at
validation time; request rates per tenant and per caller before anything runs.

Validation runs before any resolver, so an abusive operation costs no database work.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    VariableNode,
    get_named_type,
)

# A list field without a page size is assumed to hold this many items.
UNPAGED_LIST_SIZE = 10
MAX_PAGE_SIZE = 100


def _depth(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                deepest = max(deepest, _depth(fragment.selection_set, fragments, seen | {name}))
    return deepest


def _aliases(node: Any) -> int:
    count = 0
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, FieldNode) and current.alias is not None:
            count += 1
        selection_set = getattr(current, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return count


def operation_limits(max_depth: int, max_aliases: int) -> type[ASTValidationRule]:
    class OperationLimits(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._fragments = {
                d.name.value: d
                for d in context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = _depth(node.selection_set, self._fragments)
            if depth > max_depth:
                self.report_error(
                    GraphQLError(
                        f"operation depth {depth} exceeds the limit of {max_depth}",
                        node,
                        extensions={"code": "BAD_OPERATION"},
                    )
                )
            aliases = _aliases(node) + sum(_aliases(f) for f in self._fragments.values())
            if aliases > max_aliases:
                self.report_error(
                    GraphQLError(
                        f"operation uses {aliases} aliases; the limit is {max_aliases}",
                        node,
                        extensions={"code": "BAD_OPERATION"},
                    )
                )

    return OperationLimits


class _PageVariables:
    """What a page size given as a variable (``first: $n``) is worth.

    At validation time the values are unknown and a variable counts as the largest
    page; at request time the operation's cost is counted again with the values the
    request sent (gateways always send arguments as variables).
    """

    def __init__(
        self, operation: OperationDefinitionNode | None, values: Mapping[str, Any] | None
    ) -> None:
        self.known = values is not None
        self.used = False
        self._values: dict[str, Any] = dict(values or {})
        for definition in (operation.variable_definitions if operation else None) or ():
            name = definition.variable.name.value
            if name not in self._values and isinstance(definition.default_value, IntValueNode):
                self._values[name] = int(definition.default_value.value)

    def size(self, node: VariableNode) -> int | None:
        """The page size the variable asks for; ``None`` when it asks for none."""
        self.used = True
        if not self.known:
            return MAX_PAGE_SIZE
        value = self._values.get(node.name.value)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return max(0, min(value, MAX_PAGE_SIZE))
        return MAX_PAGE_SIZE  # not an Int: execution refuses it; count the worst case


def _page_size(
    node: FieldNode,
    field_type: GraphQLOutputType,
    arg_defaults: dict[str, Any],
    variables: _PageVariables,
) -> int:
    for argument in node.arguments or ():
        if argument.name.value in ("first", "last"):
            if isinstance(argument.value, IntValueNode):
                return max(0, min(int(argument.value.value), MAX_PAGE_SIZE))
            if isinstance(argument.value, VariableNode):
                size = variables.size(argument.value)
                if size is not None:
                    return size
                continue
            return MAX_PAGE_SIZE
    for name in ("first", "last"):
        default = arg_defaults.get(name)
        if isinstance(default, int):
            return max(0, min(default, MAX_PAGE_SIZE))
    unwrapped = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    return UNPAGED_LIST_SIZE if isinstance(unwrapped, GraphQLList) else 1


def _is_page_of_connection(parent: GraphQLNamedType | None, node: FieldNode) -> bool:
    return (
        parent is not None
        and parent.name.endswith("Connection")
        and node.name.value in ("edges", "nodes")
    )


def operation_cost(
    schema: GraphQLSchema,
    selection_set: SelectionSetNode | None,
    parent: GraphQLNamedType | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
    variables: _PageVariables | None = None,
) -> int:
    """Each field costs 1 plus its selections times the size of the list it returns."""
    if selection_set is None:
        return 0
    pages = variables if variables is not None else _PageVariables(None, None)
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            fields = (
                parent.fields
                if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
                else {}
            )
            definition = fields.get(selection.name.value)
            if definition is None:
                total += 1
                continue
            defaults = {name: arg.default_value for name, arg in definition.args.items()}
            size = (
                # The connection field already multiplied by its page size (first/last).
                1
                if _is_page_of_connection(parent, selection)
                else _page_size(selection, definition.type, defaults, pages)
            )
            inner = operation_cost(
                schema,
                selection.selection_set,
                get_named_type(definition.type),
                fragments,
                seen,
                pages,
            )
            total += 1 + size * inner
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            target = schema.get_type(condition.name.value) if condition else parent
            total += operation_cost(schema, selection.selection_set, target, fragments, seen, pages)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                target = schema.get_type(fragment.type_condition.name.value)
                total += operation_cost(
                    schema, fragment.selection_set, target, fragments, seen | {name}, pages
                )
    return total


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _over_budget(cost: int, max_cost: int, node: OperationDefinitionNode) -> GraphQLError:
    return GraphQLError(
        f"operation cost {cost} exceeds the budget of {max_cost}",
        node,
        extensions={"code": "BAD_OPERATION", "cost": cost},
    )


def cost_limit(max_cost: int) -> type[ASTValidationRule]:
    """Refuse, before anything runs, an operation whose cost does not depend on variables
    and exceeds ``max_cost``; one whose page sizes are variables is counted per request
    by :func:`request_cost_error`."""

    class CostLimit(ASTValidationRule):
        context: ValidationContext

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            schema = self.context.schema
            pages = _PageVariables(node, None)
            root = schema.get_root_type(node.operation)
            cost = operation_cost(
                schema, node.selection_set, root, _fragments(self.context.document), variables=pages
            )
            if cost > max_cost and not pages.used:
                self.report_error(_over_budget(cost, max_cost, node))

    return CostLimit


def request_cost_error(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    max_cost: int,
) -> GraphQLError | None:
    """The cost of ``operation`` with the page sizes ``variables`` give, over budget?

    Only an operation with variables can have page sizes that validation could not
    count; one without returns at once.
    """
    if not operation.variable_definitions:
        return None
    pages = _PageVariables(operation, variables or {})
    root = schema.get_root_type(operation.operation)
    cost = operation_cost(
        schema, operation.selection_set, root, _fragments(document), variables=pages
    )
    if cost > max_cost:
        error = _over_budget(cost, max_cost, operation)
        return error
    return None


class NoIntrospection(ASTValidationRule):
    """Outside development the schema is not for browsing (``__typename`` stays)."""

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                GraphQLError(
                    "introspection is disabled", node, extensions={"code": "INTROSPECTION_DISABLED"}
                )
            )


class RateLimiter:
    """Token buckets per key (a tenant, a user, an API key), in this process.

    ``allow`` refills a bucket by the time elapsed and takes one token. Keys beyond
    ``capacity`` are forgotten least-recently-used first (a forgotten key starts full).
    """

    def __init__(self, rate: float, burst: int, *, capacity: int = 100_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._capacity = capacity
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def allow(self, key: Hashable, now: float | None = None) -> float:
        """0.0 when allowed; otherwise the seconds until a token is available."""
        if not self.enabled:
            return 0.0
        moment = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (self.burst, moment))
        tokens = min(self.burst, tokens + (moment - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, moment)
            waited = 0.0
        else:
            self._buckets[key] = (tokens, moment)
            waited = (1.0 - tokens) / self.rate
        while len(self._buckets) > self._capacity:
            self._buckets.popitem(last=False)
        return waited
