"""The ASGI application: ``/graphql``, ``/subgraphs/<center>/graphql``, health, readiness.

The composition root (``schema/``) hands over the schemas; the kernel serves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from graphql import GraphQLSchema
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from kernel import metrics, tracing
from kernel.authn import Authenticator
from kernel.authz.enforcers import PolicyStore
from kernel.authz.permissions import Permission
from kernel.authz.stores import StorePermissions
from kernel.db import Database, create_engine, is_unavailable, resolve_database_url
from kernel.dispatch import Dispatcher
from kernel.graphql.documents import DocumentStore, load_manifest
from kernel.graphql.graphiql import graphiql_assets
from kernel.graphql.http import RETRY_AFTER_UNAVAILABLE, GraphQLEndpoint
from kernel.graphql.plans.maps import SqlMap
from kernel.graphql.plans.planner import ReadPlanner
from kernel.graphql.subscriptions import SubscriptionEndpoint
from kernel.jobs import JobHandler, JobRunner
from kernel.plugins.registry import PluginRegistry
from kernel.settings import Settings

log = logging.getLogger("zhongtai.app")


@dataclass(frozen=True)
class ServedApi:
    """What the composition root gives the kernel to serve."""

    composed: GraphQLSchema
    subgraphs: Mapping[str, GraphQLSchema]
    grants: Mapping[str, Sequence[Permission]]
    job_handlers: Mapping[str, JobHandler] = dataclasses.field(default_factory=dict)
    routes: Sequence[BaseRoute] = ()
    store_permissions: StorePermissions = dataclasses.field(default_factory=StorePermissions)
    # Where the centers' types live in SQL: known reads of the composed schema compile.
    sql_maps: Sequence[SqlMap] = ()


@dataclass
class Runtime:
    """Process-wide resources, created at startup and closed at shutdown."""

    settings: Settings
    db: Database
    policies: PolicyStore
    composed: GraphQLEndpoint
    subgraphs: dict[str, GraphQLEndpoint]
    jobs: JobRunner
    subscriptions: SubscriptionEndpoint | None = None  # graphql-transport-ws on /graphql
    # The plugins served (None: the installed entry points, ``default_registry()``).
    plugins: PluginRegistry | None = None


def create_app(
    api: ServedApi, settings: Settings, *, plugins: PluginRegistry | None = None
) -> Starlette:
    """The ASGI app. ``plugins``: the plugin registry to serve (default: the installed
    entry points); a test passes one to stand for another installation."""
    tracing.configure()  # from OTEL_* (docs/operations.md); off when none is set
    metrics.configure(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(
            create_engine(resolve_database_url(settings), settings),
            listen_url=settings.listen_database_url,
        )
        policies = PolicyStore(
            db,
            api.grants,
            capacity=settings.authz_cache_tenants,
            store_permissions=api.store_permissions,
        )
        policies.start_listening()
        authenticator = Authenticator(settings)

        documents = DocumentStore(
            settings.persisted_queries_capacity,
            load_manifest(settings.trusted_documents) if settings.trusted_documents else None,
        )

        def endpoint(
            schema: GraphQLSchema, planner: ReadPlanner | None = None, *, public: bool = False
        ) -> GraphQLEndpoint:
            return GraphQLEndpoint(
                schema,
                settings=settings,
                db=db,
                authenticator=authenticator,
                policies=policies,
                planner=planner,
                plugins=plugins,
                documents=documents,
                public=public,
            )

        planner = (
            ReadPlanner(api.composed, api.sql_maps)
            if settings.compiled_reads and api.sql_maps
            else None
        )

        jobs = JobRunner(db, api.job_handlers)
        app.state.runtime = Runtime(
            settings=settings,
            db=db,
            policies=policies,
            composed=endpoint(api.composed, planner, public=True),
            subgraphs={
                name: endpoint(schema)
                for name, schema in api.subgraphs.items()
                if not settings.serve_subgraphs or name in settings.serve_subgraphs
            },
            jobs=jobs,
            plugins=plugins,
            subscriptions=SubscriptionEndpoint(
                api.composed,
                settings=settings,
                db=db,
                authenticator=authenticator,
                policies=policies,
            ),
        )
        # Background work in this process unless it is left to `zhongtai worker`
        # (`serve --no-background`).
        stopping = asyncio.Event()
        background = (
            asyncio.create_task(jobs.run_forever(settings.jobs_poll_seconds, stopping))
            if settings.jobs_enabled
            else None
        )
        # The outbox dispatcher (docs/plugins.md): off with the jobs, e.g. in tests,
        # which call ``app.state.dispatcher.run_once()`` themselves.
        dispatcher = Dispatcher(db, registry=plugins)
        app.state.dispatcher = dispatcher
        if settings.jobs_enabled:
            dispatcher.start()
        # Several processes: each keeps its pool gauges in the shared metrics directory.
        sampler = (
            asyncio.create_task(metrics.sample_pool_forever(db))
            if metrics.multiprocess_dir()
            else None
        )
        try:
            yield
        finally:
            if sampler is not None:
                sampler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampler
            await dispatcher.stop()
            if background is not None:
                stopping.set()  # the job running now finishes and commits
                with contextlib.suppress(asyncio.CancelledError):
                    await background
            await policies.stop_listening()
            await db.dispose()

    async def graphql(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        return await runtime.composed(request)

    async def graphql_ws(websocket: WebSocket) -> None:
        runtime: Runtime = websocket.app.state.runtime
        if runtime.subscriptions is not None:
            await runtime.subscriptions(websocket)

    async def subgraph(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        found = runtime.subgraphs.get(request.path_params["center"])
        if found is None:
            return JSONResponse(
                {"errors": [{"message": "no such subgraph", "extensions": {"code": "NOT_FOUND"}}]},
                status_code=404,
            )
        return await found(request)

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        try:
            async with runtime.db.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    unknown = set(settings.serve_subgraphs) - set(api.subgraphs)
    if unknown:
        raise ValueError(
            f"no subgraph {', '.join(sorted(unknown))}; there are {', '.join(sorted(api.subgraphs))}"
        )
    # A subgraph service (`serve --subgraph`) answers its subgraphs only; the composed
    # API is the gateway's to serve.
    composed_routes: list[BaseRoute] = (
        []
        if settings.serve_subgraphs
        else [
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_ws),
        ]
    )
    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            *composed_routes,
            Route("/subgraphs/{center}/graphql", subgraph, methods=["GET", "POST"]),
            *api.routes,
            *([graphiql_assets()] if settings.is_development else []),
            *(
                [Route("/metrics", metrics.metrics_endpoint, methods=["GET"])]
                if settings.metrics_enabled
                else []
            ),
        ],
        middleware=[cors_middleware(settings), Middleware(JsonErrors)],
        lifespan=lifespan,
    )
    tracing.add_asgi_middleware(app)
    return app


class JsonErrors:
    """Whatever a route did not answer itself (callbacks, hooks) gets a JSON body, never
    Starlette's plain-text 500; a lost database is a retryable 503, as on /graphql."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as error:
            if started:
                raise
            path = scope.get("path", "")
            if is_unavailable(error):
                log.warning("database unavailable on %s: %s", path, error)
                response = JSONResponse(
                    {"error": "unavailable; retry later"},
                    status_code=503,
                    headers={"Retry-After": RETRY_AFTER_UNAVAILABLE},
                )
            else:
                log.error("unhandled error on %s", path, exc_info=error)
                response = JSONResponse({"error": "internal error"}, status_code=500)
            await response(scope, receive, send)


# What a browser client sends and may read (decision 0101).
CORS_REQUEST_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "x-api-key",
    "x-request-id",
    "traceparent",
    "tracestate",
]
CORS_EXPOSED_HEADERS = ["x-request-id", "retry-after"]


def cors_middleware(settings: Settings) -> Middleware:
    """CORS for browser front ends on other origins: the configured origins only (any
    origin in development unless configured; none in test and production unless
    configured). Credentials are bearer tokens and API keys, never cookies, so no
    ``Access-Control-Allow-Credentials``. Preflights of other origins are refused."""
    return Middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_origin_regex=settings.cors_allowed_origin_regex,
        allow_methods=["GET", "POST"],
        allow_headers=CORS_REQUEST_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=settings.cors_max_age_seconds,
    )
