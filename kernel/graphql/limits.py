"""Operation limits checked at validation time: depth and aliases.

Validation runs before any resolver, so an abusive operation costs no database work.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)


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
