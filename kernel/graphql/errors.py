"""Turning execution errors into client-safe GraphQL errors with ``extensions.code``.

A client never sees a stack trace or SQL: anything we did not raise on purpose becomes
``INTERNAL`` with the request id, and the details go to the log.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError

from kernel.db import is_unavailable
from kernel.errors import UserInputError, ZhongtaiError

log = logging.getLogger("zhongtai.graphql")

# PostgreSQL conditions a client may simply retry.
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}
UNAVAILABLE = "UNAVAILABLE"
UNAVAILABLE_MESSAGE = "the database is unavailable; retry the operation (same idempotency key)"


def _sqlstate(error: BaseException) -> str | None:
    current: BaseException | None = error
    while current is not None:
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str):
            return state
        current = current.__cause__ or getattr(current, "orig", None)
    return None


def format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    original = error.original_error
    formatted: dict[str, Any] = {"message": error.message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path:
        formatted["path"] = list(error.path)
    if original is None:
        # Our own refusals (validation rules, request checks) may name a ``field``.
        formatted["extensions"] = {"code": "BAD_REQUEST", **(error.extensions or {})}
        return formatted
    if isinstance(original, UserInputError):
        formatted["message"] = original.message
        formatted["extensions"] = {"code": original.code}
        if original.field:
            formatted["extensions"]["field"] = original.field
        return formatted
    if isinstance(original, ZhongtaiError):
        formatted["message"] = str(original) or original.code.lower()
        formatted["extensions"] = {"code": original.code}
        return formatted
    if isinstance(original, GraphQLError):
        return format_error(original, request_id)
    if is_unavailable(original):
        log.warning(
            "database unavailable in %s: %s",
            ".".join(str(p) for p in error.path or []),
            original,
            extra={"request_id": request_id},
        )
        formatted["message"] = UNAVAILABLE_MESSAGE
        formatted["extensions"] = {"code": UNAVAILABLE, "requestId": request_id}
        return formatted
    if _sqlstate(original) in _RETRYABLE_SQLSTATES:
        formatted["message"] = "conflicting concurrent change; retry the operation"
        formatted["extensions"] = {"code": "CONFLICT", "requestId": request_id}
        return formatted
    log.error(
        "unhandled error in %s",
        ".".join(str(p) for p in error.path or []),
        exc_info=original,
        extra={"request_id": request_id},
    )
    formatted["message"] = "internal error"
    formatted["extensions"] = {"code": "INTERNAL", "requestId": request_id}
    return formatted
