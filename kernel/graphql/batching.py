"""Shaping a batch query's rows into what a DataLoader must return: one answer per key,
in the order of the keys."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

KeyT = TypeVar("KeyT", bound=Hashable)
RowT = TypeVar("RowT")


def one_per_key(
    keys: Sequence[KeyT], rows: Iterable[RowT], key: Callable[[RowT], KeyT]
) -> list[RowT | None]:
    """The row of each key, or ``None`` where there is none (e.g. another tenant's id)."""
    found = {key(row): row for row in rows}
    return [found.get(k) for k in keys]


def many_per_key(
    keys: Sequence[KeyT], rows: Iterable[RowT], key: Callable[[RowT], KeyT]
) -> list[list[RowT]]:
    """The rows of each key, keeping the rows' order; ``[]`` for a key without rows."""
    grouped: dict[KeyT, list[RowT]] = {k: [] for k in keys}
    for row in rows:
        grouped.setdefault(key(row), []).append(row)
    return [grouped[k] for k in keys]
