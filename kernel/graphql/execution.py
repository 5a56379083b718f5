"""Executing an operation so that it is really over when it returns."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLSchema
from graphql.execution import Executor, execute_root_selection_set


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
    built = Executor.build(schema, document, root, context, variables, operation_name)
    if isinstance(built, list):
        return ExecutionResult(data=None, errors=built)
    try:
        outcome = execute_root_selection_set(built)
        return await outcome if inspect.isawaitable(outcome) else outcome
    finally:
        while built.background_futures:
            await asyncio.wait(list(built.background_futures))
