"""Domain exceptions raised by services and mapped by the GraphQL layer.

``UserInputError`` and its subclasses are fixable by the client: they become
``userErrors { field message code }`` entries on a mutation payload. The others become
GraphQL errors carrying ``extensions.code``.
"""

from __future__ import annotations

from collections.abc import Sequence


class ZhongtaiError(Exception):
    """Base of every error we raise on purpose."""

    code = "INTERNAL"


class UserInputError(ZhongtaiError):
    """Input the client can fix; ``code`` is stable and documented per mutation."""

    def __init__(self, message: str, *, code: str, field: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = list(field) if field is not None else None


class UnauthenticatedError(ZhongtaiError):
    code = "UNAUTHENTICATED"


class ForbiddenError(ZhongtaiError):
    code = "FORBIDDEN"


class NotFoundError(ZhongtaiError):
    code = "NOT_FOUND"


class ConflictError(ZhongtaiError):
    code = "CONFLICT"


class RateLimitedError(ZhongtaiError):
    code = "RATE_LIMITED"


class InvalidOperationError(ZhongtaiError):
    """The operation itself is refused (too deep, too many aliases…)."""

    code = "BAD_OPERATION"
