"""Free-text input every center validates the same way: trimmed, never empty, bounded."""

from __future__ import annotations

from collections.abc import Sequence

from kernel.errors import UserInputError


def required_text(
    value: str, *, label: str, max_length: int, code: str, field: Sequence[str]
) -> str:
    """``value`` without surrounding blanks; ``UserInputError(code)`` if empty or too long."""
    cleaned = value.strip()
    if not cleaned or len(cleaned) > max_length:
        raise UserInputError(
            f"{label} must be 1 to {max_length} characters", code=code, field=field
        )
    return cleaned
