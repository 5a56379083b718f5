"""Ids in the API are UUID strings; malformed ones are input errors, not crashes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from kernel.errors import UserInputError


def parse_id(value: str, field: Sequence[str]) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise UserInputError(
            f"{value!r} is not a valid id", code="INVALID_ID", field=field
        ) from None


def try_parse_id(value: str) -> uuid.UUID | None:
    """For lookups: a malformed id simply finds nothing."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
