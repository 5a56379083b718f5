"""Running a mutation so that fixable errors become ``userErrors`` and write nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from kernel.context import RequestContext
from kernel.errors import UserInputError
from kernel.graphql.types import UserError

T = TypeVar("T")


async def attempt(
    context: RequestContext, operation: Callable[[], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    """Run ``operation``; on a ``UserInputError`` undo what it wrote and report it.

    When the operation holds this one mutation, undoing it is rolling the request's
    transaction back, which costs nothing now. Otherwise a savepoint keeps the earlier
    mutations of the operation intact while this one leaves no trace (no reservation,
    no row, no event).
    """
    if context.sole_mutation:
        try:
            return await operation(), []
        except UserInputError as error:
            context.rollback_only = True
            return None, [UserError.from_error(error)]
    savepoint = await context.session.begin_nested()
    try:
        result = await operation()
    except UserInputError as error:
        await savepoint.rollback()
        return None, [UserError.from_error(error)]
    except BaseException:
        await savepoint.rollback()
        raise
    await savepoint.commit()
    return result, []
