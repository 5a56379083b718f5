"""Several statements of one unit of work in ONE round trip.

Placing an order reads from five centers and writes a dozen rows in their tables; sent
one statement at a time that is two dozen round trips, each queued behind the request's
statement lock. A ``Batch`` collects them into one statement sent through
``kernel.prepared`` on the unit of work's connection (same transaction, RLS role and
tenant). Each center still reads and writes only its own tables: it adds its part
through a function of its ``api`` that takes the batch, and decodes its own result.

- **Writes** are parts: common table expressions (``WITH part AS (INSERT …)``), values
  as ``$n`` parameters. Every data-modifying part runs, referenced or not, against the
  same snapshot, and a part sees another's rows only through ``RETURNING``; so a part
  that must happen only if an earlier one did (the order's lines only if the order row
  was inserted, its random number free) names the earlier part in its ``when``
  condition (``EXISTS (SELECT 1 FROM placed)``). Constraints are checked at the end of
  the statement, as for separate statements.
- **Reads** are columns: scalar subqueries (one value, usually a ``json`` array built in
  SQL) of the final ``SELECT``, each with the function that decodes it.

Rows of many lines go in as arrays (``unnest``), so the statement's text depends on
which parts are present, not on how many rows they write, and asyncpg prepares each
shape once per connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from kernel import prepared

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Column(Generic[T]):
    """A value the batch's final row will hold, and how to decode it."""

    name: str
    decode: Callable[[Any], T]

    def of(self, row: Mapping[str, Any]) -> T:
        return self.decode(row[self.name])


class Batch:
    """Parts and columns added in order; ``run``/``fetch_row`` send them as one statement."""

    def __init__(self) -> None:
        self._parts: list[tuple[str, str]] = []
        self._columns: list[tuple[str, str]] = []
        self._args: list[Any] = []

    def arg(self, value: Any, sql_type: str) -> str:
        """A parameter for ``value``, cast to ``sql_type`` (``uuid``, ``int[]``…)."""
        self._args.append(value)
        return f"${len(self._args)}::{sql_type}"

    def has(self, name: str) -> bool:
        return any(name == n for n, _ in (*self._parts, *self._columns))

    def fresh(self, prefix: str) -> str:
        """An unused name starting with ``prefix`` (``outbox_0``, ``outbox_1``…)."""
        n = 0
        while self.has(f"{prefix}_{n}"):
            n += 1
        return f"{prefix}_{n}"

    def add(self, name: str, sql: str) -> None:
        """A part: ``name AS (sql)``; later parts and the final query may read its
        ``RETURNING`` rows by ``name``."""
        self._check_name(name)
        self._parts.append((name, sql))

    def column(self, name: str, sql: str, decode: Callable[[Any], T]) -> Column[T]:
        """A column of the final row: ``(sql) AS name``, a scalar subquery."""
        self._check_name(name)
        self._columns.append((name, sql))
        return Column(name, decode)

    def _check_name(self, name: str) -> None:
        if not name.isidentifier() or self.has(name):
            raise ValueError(f"bad or repeated part name {name!r}")

    def sql(self, final: str | None = None) -> str:
        parts = ",\n".join(f"{name} AS ({sql})" for name, sql in self._parts)
        if final is None:
            final = "SELECT " + ",\n".join(f"({sql}) AS {name}" for name, sql in self._columns)
        return f"WITH {parts}\n{final}" if parts else final

    async def run(self, session: AsyncSession, final: str) -> Sequence[Any]:
        """Send every part and ``final`` (a query over the parts' ``RETURNING`` rows)."""
        return await prepared.fetch(session, prepared.Statement(self.sql(final)), *self._args)

    async def fetch_row(self, session: AsyncSession) -> Mapping[str, Any]:
        """Send every part and return the row of the columns."""
        if not self._columns:
            raise ValueError("a batch read needs at least one column")
        row: Any = await prepared.fetchrow(session, prepared.Statement(self.sql()), *self._args)
        if row is None:  # a SELECT of scalar subqueries always returns its one row
            raise RuntimeError("a batch read returned no row")
        found: Mapping[str, Any] = row
        return found
