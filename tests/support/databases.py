"""A migrated database of a test module's own, on the test server."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from kernel.migrate import upgrade


@contextmanager
def migrated_database(server_url: str, prefix: str) -> Iterator[str]:
    """Create ``<prefix>_<pid>_<random>`` beside ``server_url``'s database, migrate it,
    yield its URL and drop it afterwards (for tests whose processes or demo data must not
    meet the session's shared database)."""
    server = make_url(server_url)
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"

    async def run(sql: str) -> None:
        engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(sa.text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
