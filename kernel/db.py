"""The async engine, the unit of work, and small SQL building blocks.

Services never commit: the unit of work commits at the request or job boundary.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from kernel.embedded_postgres import start_embedded_postgres
from kernel.settings import Settings


def resolve_database_url(settings: Settings) -> str:
    """The configured URL, or the embedded server's when none is configured."""
    if settings.database_url:
        return to_asyncpg_url(settings.database_url)
    return start_embedded_postgres(settings.data_dir)


def to_asyncpg_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs too (what most tools print)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_pre_ping=False,
        # Business timestamps are UTC; the session follows so now() agrees.
        connect_args={"server_settings": {"timezone": "UTC", "application_name": "zhongtai"}},
    )


class RequestSession(AsyncSession):
    """A session whose statements queue on a lock.

    GraphQL resolves sibling fields concurrently, and their DataLoaders may reach the
    database in the same tick; one connection runs one statement at a time, so they
    take turns here instead of failing. (``scalars`` goes through ``execute``.)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._statement_lock = asyncio.Lock()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        async with self._statement_lock:
            return await super().execute(*args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        async with self._statement_lock:
            return await super().scalar(*args, **kwargs)


class Database:
    """One engine and session factory per process."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(
            engine, class_=RequestSession, expire_on_commit=False, autoflush=False
        )

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error."""
        async with self.sessions() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            else:
                await session.commit()

    async def dispose(self) -> None:
        await self.engine.dispose()


def table_of(model: type[Any]) -> sa.Table:
    """The ``Table`` behind a SQLModel class, typed for Core statements."""
    return cast(sa.Table, model.__table__)
