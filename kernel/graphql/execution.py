"""Executing an operation so that it is really over when it returns, with a leaner
executor for the fields that only read an attribute."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from types import CoroutineType, GeneratorType
from typing import Any, TypeGuard

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
)
from graphql.execution import Executor, execute_root_selection_set
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path

from kernel.graphql.resolvers import ATTRIBUTE, OWNER

# Per class: can its instances be awaited? (graphql-core asks for every field's value.)
_AWAITABLE_TYPES: dict[type, bool] = {}


def is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    """graphql-core's check, decided once per class instead of per value: ``await``
    looks ``__await__`` up on the type, and a failed ``hasattr`` per leaf value (a
    string, a number) costs more than the rest of its completion."""
    cls = type(value)
    known = _AWAITABLE_TYPES.get(cls)
    if known is None:
        if cls is GeneratorType:  # a generator-based coroutine, or not: per object
            return bool(value.gi_code.co_flags & inspect.CO_ITERABLE_COROUTINE)
        known = cls is CoroutineType or hasattr(cls, "__await__")
        _AWAITABLE_TYPES[cls] = known
    return known


# A leaf field read from an attribute: (attribute, class that holds it or None,
# coerce_output_value, nullable). False: not such a field.
_Plan = tuple[str, type | None, Callable[[Any], Any], bool]
_PLANS: dict[int, _Plan | bool] = {}


def _plan(field: GraphQLField) -> _Plan | bool:
    resolve = field.resolve
    attribute = getattr(resolve, ATTRIBUTE, None)
    if attribute is None or field.args:
        return False
    nullable = not isinstance(field.type, GraphQLNonNull)
    leaf = field.type if nullable else field.type.of_type  # type: ignore[union-attr]
    if not isinstance(leaf, GraphQLScalarType | GraphQLEnumType):
        return False
    return (attribute, getattr(resolve, OWNER, None), leaf.coerce_output_value, nullable)


class LeanExecutor(Executor[Any]):
    """graphql-core's executor, which completes a leaf field read from an attribute
    (``kernel.graphql.resolvers``) without building its resolve info or calling its
    resolver: the attribute, coerced like any leaf. Anything unusual on the way (null
    for a non-null field, an error, a value that does not coerce) goes through the
    ordinary path, which answers and errs as always."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        field = parent_type.fields.get(node.name.value)
        if field is not None and not node.arguments and self.middleware_manager is None:
            plan = _PLANS.get(id(field))
            if plan is None:
                plan = _PLANS[id(field)] = _plan(field)
            if plan is not False:
                attribute, owner, coerce, nullable = plan  # type: ignore[misc]
                if owner is None or isinstance(source, owner):
                    try:
                        value = getattr(source, attribute)
                    except Exception:
                        value = Undefined
                    if value is None:
                        if nullable:
                            return None
                    elif value is not Undefined and not isinstance(value, Exception):
                        try:
                            coerced = coerce(value)
                        except Exception:
                            coerced = None
                        if coerced is not None and coerced is not Undefined:
                            return coerced
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )


async def execute_settled(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: Any,
    root: Any = None,
) -> ExecutionResult:
    """Execute, and return only once no resolver of the operation is still running.

    When a field fails synchronously and its error reaches a non-null parent,
    graphql-core answers at once and lets the sibling resolvers already started
    finish "in the background". Those resolvers use the request's session: had the
    request committed or closed it meanwhile, they would run statements beside the
    rollback on the same connection (asyncpg: "cannot switch to state 12; another
    operation is in progress") or on a new transaction nobody ends. So wait for them.
    """
    built = LeanExecutor.build(
        schema, document, root, context, variables, operation_name, is_awaitable=is_awaitable
    )
    if isinstance(built, list):
        return ExecutionResult(data=None, errors=built)
    try:
        outcome = execute_root_selection_set(built)
        return await outcome if inspect.isawaitable(outcome) else outcome
    finally:
        while built.background_futures:
            await asyncio.wait(list(built.background_futures))
