"""Checks every input value passes before an operation runs, whatever field takes it.

- **No NUL character.** PostgreSQL text cannot hold ``\\u0000`` (asyncpg fails with
  "invalid byte sequence"), and no business value needs one. Rather than let it reach
  a statement and answer ``INTERNAL``, any string of any argument (a literal in the
  document) or variable (anywhere inside it, JSON scalars and ``_entities``
  representations included) that holds one is refused with ``BAD_USER_INPUT`` naming
  where it is. One check here covers every field of every center, composed or
  subgraph, over HTTP and over WebSocket.
- **Bounded nesting.** A variable nested deeper than ``MAX_VARIABLE_DEPTH`` is refused
  too: no input type of ours nests that deep, and deeper values only exhaust the
  recursion of whatever walks them later (JSON encoders among them).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ArgumentNode,
    ASTValidationRule,
    DirectiveNode,
    FieldNode,
    GraphQLError,
    ListValueNode,
    Node,
    ObjectFieldNode,
    StringValueNode,
    VariableDefinitionNode,
)

from kernel.errors import UserInputError

NUL = "\x00"
MAX_VARIABLE_DEPTH = 64
BAD_USER_INPUT = "BAD_USER_INPUT"


def _display(path: list[str]) -> str:
    shown = path[0] if path else ""
    for part in path[1:]:
        shown += f"[{part}]" if part.isdigit() else f".{part}"
    return shown


def variables_error(variables: dict[str, Any] | None) -> GraphQLError | None:
    """A ``BAD_USER_INPUT`` error for the first NUL character or too deep a value in
    ``variables`` (a decoded JSON object), or ``None``. Iterative: any depth is safe."""
    if not variables:
        return None
    stack: list[tuple[Any, list[str]]] = [(value, [name]) for name, value in variables.items()]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                return _refuse(
                    f'Variable "${path[0]}" holds a NUL character (\\u0000) at '
                    f"{_display(path)}; text may not contain NUL",
                    path,
                )
            continue
        if len(path) > MAX_VARIABLE_DEPTH:
            if isinstance(value, dict | list):
                return _refuse(
                    f'Variable "${path[0]}" is nested deeper than {MAX_VARIABLE_DEPTH} levels',
                    path[:1],
                )
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and NUL in key:
                    return _refuse(
                        f'Variable "${path[0]}" holds a NUL character (\\u0000) in a key at '
                        f"{_display(path)}; text may not contain NUL",
                        path,
                    )
                stack.append((item, [*path, str(key)]))
        elif isinstance(value, list):
            stack.extend((item, [*path, str(index)]) for index, item in enumerate(value))
    return None


def _refuse(message: str, path: list[str]) -> GraphQLError:
    return GraphQLError(
        message, original_error=UserInputError(message, code=BAD_USER_INPUT, field=path)
    )


class NoNulInLiterals(ASTValidationRule):
    """Refuses a string literal holding NUL: in an argument, an input object field, a
    list, a directive, or a variable's default value."""

    def enter_string_value(
        self,
        node: StringValueNode,
        _key: Any,
        parent: Any,
        path: Any,
        ancestors: list[Node | tuple[Node, ...]],
    ) -> None:
        if NUL not in node.value:
            return
        where = _literal_path([*ancestors, parent], list(path))
        message = (
            f"{where[0] or 'A string'} holds a NUL character (\\u0000) at "
            f"{_display(where[1:]) or 'its value'}; text may not contain NUL"
        )
        self.report_error(
            GraphQLError(message, node, extensions={"code": BAD_USER_INPUT, "field": where[1:]})
        )


def _literal_path(ancestors: list[Node | tuple[Node, ...]], path: list[Any]) -> list[str]:
    """``['Argument "input" of "placeOrder"', 'input', 'couponCodes', '0']``.

    ``path[k]`` is the key from ``ancestors[k]`` to the next node, so the index into a
    list value's ``values`` sits beside that tuple."""
    head = ""
    parts: list[str] = []
    owner: str | None = None
    for position, ancestor in enumerate(ancestors):
        if isinstance(ancestor, tuple):
            before = ancestors[position - 1] if position else None
            if isinstance(before, ListValueNode) and isinstance(path[position], int):
                parts.append(str(path[position]))
        elif isinstance(ancestor, VariableDefinitionNode):
            head = f'The default value of "${ancestor.variable.name.value}"'
            parts = [ancestor.variable.name.value]
        elif isinstance(ancestor, FieldNode | DirectiveNode):
            owner = ancestor.name.value
        elif isinstance(ancestor, ArgumentNode):
            head = f'Argument "{ancestor.name.value}"' + (f' of "{owner}"' if owner else "")
            parts = [ancestor.name.value]
        elif isinstance(ancestor, ObjectFieldNode):
            parts.append(ancestor.name.value)
    return [head, *parts]
