"""Operation limits: tokens at parse time; depth, aliases, cost and introspection at
validation time; request rates per tenant and per caller before anything runs.

Validation runs before any resolver, so an abusive operation costs no database work.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from graphql import (
    ASTValidationRule,
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


def _page_size(node: FieldNode, field_type: GraphQLOutputType, arg_defaults: dict[str, Any]) -> int:
    for argument in node.arguments or ():
        if argument.name.value in ("first", "last"):
            if isinstance(argument.value, IntValueNode):
                return max(0, min(int(argument.value.value), MAX_PAGE_SIZE))
            return MAX_PAGE_SIZE  # a variable: assume the largest page
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
) -> int:
    """Each field costs 1 plus its selections times the size of the list it returns."""
    if selection_set is None:
        return 0
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
                else _page_size(selection, definition.type, defaults)
            )
            inner = operation_cost(
                schema, selection.selection_set, get_named_type(definition.type), fragments, seen
            )
            total += 1 + size * inner
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            target = schema.get_type(condition.name.value) if condition else parent
            total += operation_cost(schema, selection.selection_set, target, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                target = schema.get_type(fragment.type_condition.name.value)
                total += operation_cost(
                    schema, fragment.selection_set, target, fragments, seen | {name}
                )
    return total


def cost_limit(max_cost: int) -> type[ASTValidationRule]:
    class CostLimit(ASTValidationRule):
        context: ValidationContext

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            schema = self.context.schema
            fragments = {
                d.name.value: d
                for d in self.context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            root = schema.get_root_type(node.operation)
            cost = operation_cost(schema, node.selection_set, root, fragments)
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"operation cost {cost} exceeds the budget of {max_cost}",
                        node,
                        extensions={"code": "BAD_OPERATION", "cost": cost},
                    )
                )

    return CostLimit


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
