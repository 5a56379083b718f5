"""Watching the SQL a block of code sends, to prove batching (no N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from kernel import prepared
from kernel.db import Database


@contextmanager
def selects_from(db: Database, table: str) -> Iterator[list[str]]:
    """The SELECTs that mention ``table`` (e.g. ``payment.payment``) sent while the block runs."""
    seen: list[str] = []

    def record_statement(*args: Any) -> None:
        statement: str = args[2]
        if statement.lstrip().upper().startswith("SELECT") and table in statement:
            seen.append(statement)

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", record_statement)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine.sync_engine, "before_cursor_execute", record_statement)


async def count_rows(db: Database, table: str, tenant_id: object) -> int:
    """Rows of one tenant in ``table`` (a trusted, schema-qualified name from the test)."""
    async with db.unit_of_work() as session:
        count = await session.scalar(
            sa.text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"),  # noqa: S608
            {"t": tenant_id},
        )
    return int(count)


@contextmanager
def statements_sent(db: Database) -> Iterator[list[str]]:
    """Every statement sent while the block runs: SQLAlchemy's (each cursor execution on
    ``db``'s engine) and the hot statements sent straight through asyncpg
    (``kernel.prepared``). ``BEGIN``/``COMMIT`` are the driver's and not listed."""
    seen: list[str] = []

    def record_statement(*args: Any) -> None:
        seen.append(args[2])

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", record_statement)
    prepared.listen(seen.append)
    try:
        yield seen
    finally:
        prepared.unlisten(seen.append)
        sa.event.remove(db.engine.sync_engine, "before_cursor_execute", record_statement)
