"""Alembic environment: async engine, one version table in schema ``kernel``.

Every migration runs with a lock timeout so it never queues behind a long
transaction holding up production traffic, and under an advisory lock so two
instances starting at once do not race.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATION_LOCK_ID = 0x7A68_6F6E  # "zhon"


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        version_table_schema="kernel",
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.execute("CREATE SCHEMA IF NOT EXISTS kernel")
        context.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        context.execute("SET LOCAL lock_timeout = '5s'")
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    url = context.config.attributes["database_url"]
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported")
run_migrations_online()
