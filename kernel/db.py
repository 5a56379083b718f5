"""The async engine, the unit of work, and small SQL building blocks.

Services never commit: the unit of work commits at the request or job boundary.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import asyncpg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction

from kernel.embedded_postgres import start_embedded_postgres
from kernel.rls import APP_ROLE, PLATFORM_ROLE
from kernel.settings import Settings
from kernel.tracing import current_traceparent

# The tenant a transaction works for, read by Row-Level Security policies.
TENANT_SETTING = "zhongtai.tenant_id"
_TENANT_KEY = "zhongtai_tenant_id"
_PLATFORM_KEY = "zhongtai_platform_scope"
# One round trip: the role RLS applies to, and the tenant its policies compare with.
_SET_TENANT = sa.text(
    f"SELECT set_config('role', '{APP_ROLE}', true), "
    "set_config('zhongtai.tenant_id', :tenant, true)"
)
# With tracing on, the transaction also carries the W3C traceparent of the span that
# began it: ``kernel.outbox_event.trace_parent`` defaults to it, so every event (however
# it is inserted) remembers the operation that wrote it (kernel.tracing.delivery_span).
_SET_TENANT_TRACED = sa.text(
    f"SELECT set_config('role', '{APP_ROLE}', true), "
    "set_config('zhongtai.tenant_id', :tenant, true), "
    "set_config('zhongtai.traceparent', :traceparent, true)"
)
_SET_PLATFORM = sa.text(
    f"SELECT set_config('role', '{PLATFORM_ROLE}', true), "
    "set_config('zhongtai.tenant_id', '', true)"
)


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
    connect_args: dict[str, Any] = {
        # Business timestamps are UTC; the session follows so now() agrees.
        "server_settings": {"timezone": "UTC", "application_name": "zhongtai"},
    }
    if not settings.db_statement_cache:
        # Behind a PgBouncer in transaction mode (before 1.21) consecutive transactions
        # may run on different server connections: nothing prepared may outlive its
        # transaction. asyncpg then sends unnamed statements (``kernel.prepared``), and
        # SQLAlchemy names each of its own uniquely, as its documentation advises.
        connect_args |= {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": _unique_statement_name,
        }
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        # No ping round trip per checkout: a connection the server dropped while it sat
        # in the pool is known locally (``_skip_closed``); one dropped mid-request
        # answers UNAVAILABLE and the pool replaces it.
        pool_pre_ping=False,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "do_connect", _connect)
    event.listen(engine.sync_engine.pool, "checkout", _skip_closed)
    return engine


class DatabaseUnreachable(ConnectionError):
    """Connecting to PostgreSQL failed at the socket: refused, no such socket file
    (the embedded server stopped), unresolvable host, timed out."""


def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as error:  # TimeoutError and socket.gaierror included
        raise DatabaseUnreachable(f"cannot connect to the database: {error}") from error


def _skip_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server closed (restart, fail-over, terminated backend)
    is already known to asyncpg as closed: take another instead of failing a request."""
    driver = getattr(dbapi_connection, "_connection", None)
    if driver is not None and driver.is_closed():
        raise sa.exc.DisconnectionError("pooled connection closed by the server")


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


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

    # Everything else that reaches the connection takes its turn too: SQLAlchemy's
    # asyncpg adapter serializes its own statements, but neither BEGIN/COMMIT/ROLLBACK
    # nor the statements ``kernel.prepared`` sends beside it, and asyncpg refuses a
    # second operation while one is in progress ("cannot switch to state 12").

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        async with self._statement_lock:
            return await super().get(*args, **kwargs)

    async def get_one(self, *args: Any, **kwargs: Any) -> Any:
        async with self._statement_lock:
            return await super().get_one(*args, **kwargs)

    async def flush(self, *args: Any, **kwargs: Any) -> None:
        async with self._statement_lock:
            await super().flush(*args, **kwargs)

    async def refresh(self, *args: Any, **kwargs: Any) -> None:
        async with self._statement_lock:
            await super().refresh(*args, **kwargs)

    async def merge(self, *args: Any, **kwargs: Any) -> Any:
        async with self._statement_lock:
            return await super().merge(*args, **kwargs)

    async def delete(self, *args: Any, **kwargs: Any) -> None:
        async with self._statement_lock:
            await super().delete(*args, **kwargs)

    async def commit(self) -> None:
        async with self._statement_lock:
            await super().commit()

    async def rollback(self) -> None:
        async with self._statement_lock:
            await super().rollback()

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """The asyncpg connection of this session's transaction, under the statement lock.

        For hot statements that skip the ORM (``kernel.prepared``): they run in the
        same transaction, as the same RLS role and tenant, and take turns with every
        other statement of the request like ``execute`` does.
        """
        async with self._statement_lock:
            # Begins the transaction if needed; ``after_begin`` binds role and tenant.
            connection = await super().connection()
            fairy = await connection.get_raw_connection()
            adapter: Any = fairy.dbapi_connection
            # SQLAlchemy's asyncpg adapter sends BEGIN lazily, with its first statement;
            # a session bound to no tenant has sent none yet, and a statement sent
            # beside the adapter would otherwise run outside the transaction.
            if getattr(adapter, "_transaction", None) is None and not adapter.autocommit:
                await adapter._start_transaction()
            yield fairy.driver_connection


class Database:
    """One engine and session factory per process."""

    def __init__(self, engine: AsyncEngine, *, listen_url: str | None = None) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(
            engine, class_=RequestSession, expire_on_commit=False, autoflush=False
        )
        # LISTEN connections (asyncpg, plain URL): ``listen_url`` when PgBouncer stands
        # between the pool and PostgreSQL, else the pool's own server.
        listen = make_url(to_asyncpg_url(listen_url)) if listen_url else engine.url
        self.listen_dsn = listen.set(drivername="postgresql").render_as_string(hide_password=False)

    def session_for(self, tenant_id: uuid.UUID | None) -> AsyncSession:
        """A new session whose transactions are bound to ``tenant_id`` (see bind_tenant)."""
        info = {} if tenant_id is None else {_TENANT_KEY: tenant_id}
        return self.sessions(info=info)

    @asynccontextmanager
    async def unit_of_work(self, tenant_id: uuid.UUID | None = None) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error."""
        async with self.session_for(tenant_id) as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            else:
                await session.commit()

    async def dispose(self) -> None:
        await self.engine.dispose()


async def bind_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Make every transaction of ``session`` run for ``tenant_id``, behind RLS.

    Each transaction switches to the role ``zhongtai_app`` (no superuser, no owner,
    no BYPASSRLS) and sets ``zhongtai.tenant_id``, both transaction-local (``SET LOCAL``
    semantics), so they are applied again at the start of each transaction the session
    begins, and at once if one is open. Row-Level Security then shows only the tenant's
    rows, whatever the query says.
    """
    session.info[_TENANT_KEY] = tenant_id
    session.info.pop(_PLATFORM_KEY, None)
    if session.in_transaction():
        await session.execute(*_tenant_settings(tenant_id))


async def bind_platform(session: AsyncSession) -> None:
    """Run ``session`` in the platform scope: the role ``zhongtai_platform``.

    That role reads and writes the tenant directory (``store.tenant``) and the
    platform's own policy rows, and holds no privilege on any business table. Only
    platform operations authorized by a platform permission use it.
    """
    session.info.pop(_TENANT_KEY, None)
    session.info[_PLATFORM_KEY] = True
    if session.in_transaction():
        await session.execute(_SET_PLATFORM)


def _tenant_settings(tenant_id: uuid.UUID) -> tuple[sa.TextClause, dict[str, str]]:
    traceparent = current_traceparent()
    if traceparent is None:
        return _SET_TENANT, {"tenant": str(tenant_id)}
    return _SET_TENANT_TRACED, {"tenant": str(tenant_id), "traceparent": traceparent}


def bound_tenant(session: AsyncSession) -> uuid.UUID | None:
    tenant: uuid.UUID | None = session.info.get(_TENANT_KEY)
    return tenant


@event.listens_for(Session, "after_begin")
def _apply_bound_tenant(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    tenant = session.info.get(_TENANT_KEY)
    if tenant is not None:
        connection.execute(*_tenant_settings(tenant))
    elif session.info.get(_PLATFORM_KEY):
        connection.execute(_SET_PLATFORM)


# PostgreSQL conditions that mean "the database is not there right now": connection
# exceptions (class 08), shutdown or start-up in progress, no free connection slot.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def is_unavailable(error: BaseException) -> bool:
    """Did ``error`` come from losing or failing to reach the database?

    Covers SQLAlchemy's errors (an invalidated connection, an exhausted pool) and
    asyncpg's raw ones (``kernel.prepared`` runs asyncpg directly): a terminated backend,
    a server restarting, a closed connection, a refused connect. Such an operation did
    not happen, or its commit's outcome is unknown: the client retries it (with the same
    idempotency key), so it answers ``UNAVAILABLE``, never ``INTERNAL``.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, sa.exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sa.exc.TimeoutError):  # no pooled connection came free
            return True
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str) and (state.startswith("08") or state in _UNAVAILABLE_SQLSTATES):
            return True
        if isinstance(current, asyncpg.InterfaceError) and "closed" in str(current):
            return True  # "connection is closed": used after the server dropped it
        if isinstance(current, DatabaseUnreachable):
            return True
        orig = getattr(current, "orig", None)
        pending.extend(
            [
                current.__cause__,
                current.__context__,
                orig if isinstance(orig, BaseException) else None,
            ]
        )
    return False


def table_of(model: type[Any]) -> sa.Table:
    """The ``Table`` behind a SQLModel class, typed for Core statements."""
    return cast(sa.Table, model.__table__)
