"""Hot statements without the ORM: asyncpg on the unit of work's own connection.

SQLAlchemy costs about half the server's CPU on the hot paths (``docs/performance.md``):
compiling the statement, wrapping parameters and building row objects. A hot statement
is written once in asyncpg's ``$n`` form and sent straight on the request's connection,
where asyncpg prepares it once per connection (its statement cache) and returns
``asyncpg.Record`` rows. It runs inside the request's transaction, as the same RLS role
and tenant, and takes its turn on the request's statement lock.

JSON and JSONB use the codecs SQLAlchemy's dialect registers on every connection: a
parameter is a JSON *string* and a result is decoded to Python values. A statement that
builds a response should return ``json``/``jsonb`` cast to ``text`` when the text is
spliced into a response unparsed.

Errors are asyncpg's own (``asyncpg.UniqueViolationError``…), not SQLAlchemy's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

# Called with each statement's SQL text before it is sent (tests count statements).
StatementListener = Callable[[str], None]
_listeners: list[StatementListener] = []


@dataclass(frozen=True, slots=True)
class Statement:
    """One hot statement in asyncpg's ``$1, $2…`` parameter form."""

    sql: str


def listen(listener: StatementListener) -> None:
    """Call ``listener`` with the SQL of every prepared statement sent (tests)."""
    _listeners.append(listener)


def unlisten(listener: StatementListener) -> None:
    _listeners.remove(listener)


def _notify(sql: str) -> None:
    for listener in _listeners:
        listener(sql)


def _driver(session: AsyncSession) -> Any:
    opener = getattr(session, "driver_connection", None)
    if opener is None:
        raise TypeError("prepared statements need a kernel.db.RequestSession")
    return opener()


async def fetch(session: AsyncSession, statement: Statement, *args: Any) -> list[Any]:
    """All rows (``asyncpg.Record``) of ``statement``."""
    async with _driver(session) as connection:
        if _listeners:
            _notify(statement.sql)
        rows: list[Any] = await connection.fetch(statement.sql, *args)
        return rows


async def fetchrow(session: AsyncSession, statement: Statement, *args: Any) -> Any | None:
    """The first row of ``statement``, or ``None``."""
    async with _driver(session) as connection:
        if _listeners:
            _notify(statement.sql)
        return await connection.fetchrow(statement.sql, *args)


async def fetchval(session: AsyncSession, statement: Statement, *args: Any) -> Any:
    """The first column of the first row of ``statement`` (``None`` when no row)."""
    async with _driver(session) as connection:
        if _listeners:
            _notify(statement.sql)
        return await connection.fetchval(statement.sql, *args)


async def execute(session: AsyncSession, statement: Statement, *args: Any) -> str:
    """Run ``statement`` for its effect; returns PostgreSQL's status (``INSERT 0 3``)."""
    async with _driver(session) as connection:
        if _listeners:
            _notify(statement.sql)
        status: str = await connection.execute(statement.sql, *args)
        return status


async def executemany(
    session: AsyncSession, statement: Statement, rows: Sequence[Sequence[Any]]
) -> None:
    """Run ``statement`` once per parameter row, pipelined in one round trip."""
    async with _driver(session) as connection:
        if _listeners:
            _notify(statement.sql)
        await connection.executemany(statement.sql, rows)
