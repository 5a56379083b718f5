"""GraphQL subscriptions over WebSocket (the ``graphql-transport-ws`` protocol) and the
PostgreSQL LISTEN fan-out that feeds them.

Protocol (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md): the client
opens ``/graphql`` with subprotocol ``graphql-transport-ws`` and sends
``connection_init`` with ``{"Authorization": "Bearer <JWT>"}`` as payload; the token is
verified exactly as over HTTP, and the server answers ``connection_ack``. Then
``subscribe`` (id + query) starts an operation that sends ``next`` per event and
``complete`` at its end; ``complete`` from the client stops it; ``ping``/``pong`` keep
the socket alive. The socket is closed (4403) when the token it was opened with
expires. Queries and mutations go over HTTP (``POST /graphql``); over the socket they
get an ``error`` message.

Each event runs the selection set in a fresh request context (own session, own
DataLoaders, tenant bound), so a long-lived subscription never serves stale data and
never holds a database connection between events. Permissions are checked when the
subscription starts, by the same root-field guard as queries, and again before each
event on the current rules (a role taken away stops the stream).

``listen(db, channel)`` gives one in-process queue per subscriber; one LISTEN
connection per process and channel serves all of them. A change is announced with
``pg_notify`` inside the transaction that makes it, so PostgreSQL delivers it to every
server process only when (and if) that transaction commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import jwt
import orjson
import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.execution import Executor, create_source_event_stream
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from kernel import metrics
from kernel.authn import Authenticator, Principal
from kernel.authz.enforcers import PolicyStore
from kernel.authz.permissions import Requirement
from kernel.context import RequestContext
from kernel.db import Database
from kernel.errors import UnauthenticatedError
from kernel.graphql.errors import format_error
from kernel.graphql.execution import execute_settled
from kernel.graphql.fields import StoreArg, field_metadata
from kernel.graphql.inputs import NoNulInLiterals, variables_error
from kernel.graphql.limits import (
    NoIntrospection,
    cost_limit,
    operation_limits,
    request_cost_error,
)
from kernel.settings import Settings

log = logging.getLogger("zhongtai.subscriptions")

PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT_SECONDS = 10.0
QUEUE_SIZE = 1_000
MAX_OPERATIONS = 50  # concurrent subscriptions per socket
# A socket opened with an API key is recycled after this (the client reconnects).
API_KEY_SOCKET_SECONDS = 3600.0

Resolver = TypeVar("Resolver", bound=Callable[..., Any])


def subscription(
    permission: Requirement, *, store: StoreArg | None = None, **kwargs: Any
) -> Callable[[Resolver], Resolver]:
    """A root subscription field that requires ``permission`` (used as a decorator);
    ``store`` names the argument holding the store, so a role held there suffices."""
    decorator: Callable[[Resolver], Resolver] = strawberry.subscription(
        metadata=field_metadata(permission, store), **kwargs
    )
    return decorator


# --- LISTEN fan-out ----------------------------------------------------------------------


class _Channel:
    """One LISTEN connection for one channel, shared by every subscriber of the process."""

    def __init__(self, dsn: str, channel: str) -> None:
        self._dsn = dsn
        self._channel = channel
        self._queues: set[asyncio.Queue[str]] = set()
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def add(self, queue: asyncio.Queue[str]) -> None:
        async with self._lock:
            self._queues.add(queue)
            if self._connection is None:
                await self._connect()

    async def remove(self, queue: asyncio.Queue[str]) -> None:
        async with self._lock:
            self._queues.discard(queue)
            if not self._queues and self._connection is not None:
                connection, self._connection = self._connection, None
                with contextlib.suppress(Exception):
                    await connection.close()

    async def _connect(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        connection.add_termination_listener(self._on_lost)
        await connection.add_listener(self._channel, self._on_notify)
        self._connection = connection

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(payload)
            except asyncio.QueueFull:
                log.warning("subscriber too slow on %s; event dropped", self._channel)

    def _on_lost(self, connection: Any) -> None:
        if connection is self._connection:
            self._connection = None
            asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        # Events sent while disconnected are lost; clients refetch what they show.
        backoff = 0.5
        while True:
            async with self._lock:
                if not self._queues or self._connection is not None:
                    return
                try:
                    await self._connect()
                    return
                except Exception:
                    log.warning("LISTEN %s lost; retrying in %.1fs", self._channel, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)


_channels: dict[tuple[str, str], _Channel] = {}


@asynccontextmanager
async def listen(db: Database, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
    """A queue receiving every NOTIFY payload on ``channel`` while the block runs."""
    dsn = db.listen_dsn
    shared = _channels.setdefault((dsn, channel), _Channel(dsn, channel))
    queue: asyncio.Queue[str] = asyncio.Queue(maxsize=QUEUE_SIZE)
    await shared.add(queue)
    try:
        yield queue
    finally:
        await shared.remove(queue)


# --- the graphql-transport-ws endpoint ---------------------------------------------------


@dataclass(frozen=True)
class _Caller:
    """Who opened the socket, with the credential to check again (API keys)."""

    authorization: str | None
    api_key: str | None
    principal: Principal


def _text(payload: Any, *names: str) -> str | None:
    if not isinstance(payload, dict):
        return None
    for name in names:
        value = payload.get(name)
        if isinstance(value, str):
            return value
    return None


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class SubscriptionEndpoint:
    """Serves ``graphql-transport-ws`` on a Starlette ``WebSocketRoute``."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        settings: Settings,
        db: Database,
        authenticator: Authenticator,
        policies: PolicyStore,
    ) -> None:
        self.schema = schema
        self._db = db
        self._settings = settings
        self._authenticator = authenticator
        self._policies = policies
        # The same limits as POST /graphql: a subscription is an operation like any other.
        self._rules: list[type[ASTValidationRule]] = [
            *specified_rules,
            operation_limits(settings.max_query_depth, settings.max_aliases),
            cost_limit(settings.max_query_cost),
            NoNulInLiterals,
        ]
        if not settings.introspection_enabled:
            self._rules.append(NoIntrospection)

    async def __call__(self, websocket: WebSocket) -> None:
        if PROTOCOL not in websocket.scope.get("subprotocols", []):
            await websocket.close(code=4406, reason="Subprotocol not acceptable")
            return
        await websocket.accept(subprotocol=PROTOCOL)
        operations: dict[str, asyncio.Task[None]] = {}
        try:
            caller, expires_at = await self._initialise(websocket)
            while True:
                # The socket lives no longer than the token it was opened with.
                left = expires_at - time.time()
                try:
                    message = await asyncio.wait_for(self._receive(websocket), max(left, 0))
                except TimeoutError:
                    raise _Close(4403, "Token expired") from None
                kind = message.get("type")
                if kind == "ping":
                    await websocket.send_json({"type": "pong"})
                elif kind == "pong":
                    continue
                elif kind == "connection_init":
                    raise _Close(4429, "Too many initialisation requests")
                elif kind == "subscribe":
                    self._start(websocket, caller, message, operations)
                elif kind == "complete":
                    task = operations.pop(str(message.get("id")), None)
                    if task is not None:
                        task.cancel()
                else:
                    raise _Close(4400, f"Unexpected message type {kind!r}")
        except _Close as close:
            if websocket.application_state == WebSocketState.CONNECTED:
                await websocket.close(code=close.code, reason=close.reason)
        except WebSocketDisconnect:
            pass
        finally:
            for task in operations.values():
                task.cancel()
            await asyncio.gather(*operations.values(), return_exceptions=True)

    async def _receive(self, websocket: WebSocket) -> dict[str, Any]:
        text = await websocket.receive_text()
        try:
            # orjson: a message nested too deeply is invalid, not a stack overflow.
            message = orjson.loads(text)
        except ValueError:
            raise _Close(4400, "Invalid message") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise _Close(4400, "Invalid message")
        return message

    async def _initialise(self, websocket: WebSocket) -> tuple[_Caller, float]:
        try:
            message = await asyncio.wait_for(self._receive(websocket), INIT_TIMEOUT_SECONDS)
        except TimeoutError:
            raise _Close(4408, "Connection initialisation timeout") from None
        if message["type"] != "connection_init":
            raise _Close(4401, "Unauthorized")
        payload = message.get("payload") or {}
        authorization = _text(payload, "Authorization", "authorization")
        api_key = _text(payload, "X-Api-Key", "x-api-key", "apiKey")
        try:
            principal = await self._authenticator.authenticate_request(
                authorization, api_key, self._db
            )
        except UnauthenticatedError:
            raise _Close(4403, "Forbidden") from None
        caller = _Caller(authorization, api_key, principal)
        if caller.principal.key_id is not None:
            # An API key has no expiry in hand here; it is checked again before every
            # event instead (revocation takes effect at once), and the socket is recycled.
            expires_at = time.time() + API_KEY_SOCKET_SECONDS
        else:
            token = str(caller.authorization).partition(" ")[2].strip()
            expires_at = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        await websocket.send_json({"type": "connection_ack"})
        return caller, expires_at

    async def _authenticate(self, caller: _Caller) -> Principal:
        return await self._authenticator.authenticate_request(
            caller.authorization, caller.api_key, self._db
        )

    def _start(
        self,
        websocket: WebSocket,
        caller: _Caller,
        message: dict[str, Any],
        operations: dict[str, asyncio.Task[None]],
    ) -> None:
        operation_id = message.get("id")
        payload = message.get("payload")
        if not isinstance(operation_id, str) or not operation_id or not isinstance(payload, dict):
            raise _Close(4400, "Invalid subscribe message")
        if operation_id in operations:
            raise _Close(4409, f"Subscriber for {operation_id} already exists")
        if len(operations) >= MAX_OPERATIONS:
            raise _Close(4400, "Too many operations on this socket")
        task = asyncio.create_task(self._run(websocket, caller, operation_id, payload))
        operations[operation_id] = task
        metrics.SUBSCRIPTIONS_OPEN.inc()
        task.add_done_callback(lambda _done: metrics.SUBSCRIPTIONS_OPEN.dec())
        task.add_done_callback(
            lambda done: (
                operations.pop(operation_id, None) if operations.get(operation_id) is done else None
            )
        )

    async def _context(self, principal: Principal, request_id: str) -> RequestContext:
        policy = await self._policies.for_tenant(principal.tenant_id)
        return RequestContext(
            principal=principal,
            policy=policy,
            db=self._db,
            request_id=request_id,
            policies=self._policies,
            settings=self._settings,
        )

    async def _run(
        self, websocket: WebSocket, caller: _Caller, operation_id: str, payload: dict[str, Any]
    ) -> None:
        request_id = uuid.uuid4().hex
        principal = caller.principal

        async def send(message: dict[str, Any]) -> None:
            if websocket.application_state == WebSocketState.CONNECTED:
                await websocket.send_json({"id": operation_id, **message})

        async def fail(errors: list[GraphQLError]) -> None:
            await send({"type": "error", "payload": [format_error(e, request_id) for e in errors]})

        waited = max(
            self._authenticator.tenant_rates.allow(principal.tenant_id),
            self._authenticator.caller_rates.allow((principal.tenant_id, principal.caller)),
        )
        if waited > 0:
            await fail(
                [
                    GraphQLError(
                        "rate limit exceeded; retry later", extensions={"code": "RATE_LIMITED"}
                    )
                ]
            )
            return
        query, variables = payload.get("query"), payload.get("variables")
        operation_name = payload.get("operationName")
        if not isinstance(query, str) or (
            variables is not None and not isinstance(variables, dict)
        ):
            await fail([GraphQLError("query must be a string and variables an object")])
            return
        document, errors = self._prepare(query)
        if document is None:
            await fail(errors)
            return
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation != OperationType.SUBSCRIPTION:
            await fail([GraphQLError("only subscriptions here; use POST /graphql")])
            return
        bad_input = variables_error(variables)
        if bad_input is not None:
            await fail([bad_input])
            return
        too_costly = request_cost_error(
            self.schema, document, operation, variables, self._settings.max_query_cost
        )
        if too_costly is not None:
            await fail([too_costly])
            return
        stream: Any = None
        try:
            context = await self._context(principal, request_id)
            built = Executor.build(self.schema, document, None, context, variables, operation_name)
            if isinstance(built, list):
                await fail(built)
                return
            stream = create_source_event_stream(built)
            if inspect.isawaitable(stream):
                stream = await stream
            context.record_denials()
            await context.finish(commit=False)
            if isinstance(stream, ExecutionResult):
                await fail(list(stream.errors or []))
                return
            async for event in stream:
                if principal.key_id is not None:
                    try:
                        await self._authenticate(caller)  # a revoked key stops at once
                    except UnauthenticatedError:
                        await fail([GraphQLError("API key revoked or expired")])
                        return
                refused = await self._guard_again(
                    principal, request_id, document, variables, operation_name
                )
                if refused:
                    await fail(refused)
                    return
                await send(
                    {
                        "type": "next",
                        "payload": await self._execute(
                            principal, request_id, document, event, variables, operation_name
                        ),
                    }
                )
            await send({"type": "complete"})
        except asyncio.CancelledError:
            raise
        except Exception as error:  # never leave a subscriber hanging on our fault
            log.exception("subscription %s failed", operation_id, extra={"request_id": request_id})
            await fail([GraphQLError(str(error), original_error=error)])
        finally:
            closer = getattr(stream, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()

    async def _guard_again(
        self,
        principal: Principal,
        request_id: str,
        document: DocumentNode,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> list[GraphQLError]:
        """The root field's permission check again, on the rules as they are now: a role
        taken away (tenant-wide or at the store) ends the stream at its next event.
        The guard runs when the source stream is created; the generator it returns is
        never started, so nothing else runs."""
        context = await self._context(principal, request_id)
        again: Any = None
        try:
            built = Executor.build(self.schema, document, None, context, variables, operation_name)
            if isinstance(built, list):
                return built
            again = create_source_event_stream(built)
            if inspect.isawaitable(again):
                again = await again
            if isinstance(again, ExecutionResult):
                return list(again.errors or [])
            return []
        finally:
            closer = getattr(again, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
            context.record_denials()
            await context.finish(commit=False)

    async def _execute(
        self,
        principal: Principal,
        request_id: str,
        document: DocumentNode,
        event: Any,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> dict[str, Any]:
        context = await self._context(principal, request_id)
        try:
            result = await execute_settled(
                self.schema, document, variables, operation_name, context, root=event
            )
            if result.data is None and result.errors and not result.errors[0].path:
                return {"errors": [format_error(e, request_id) for e in result.errors]}
        finally:
            context.record_denials()
            await context.finish(commit=False)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [format_error(e, request_id) for e in result.errors]
        return body

    def _prepare(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        try:
            document = parse(query)
        except GraphQLError as syntax_error:
            syntax_error.extensions = {"code": "GRAPHQL_PARSE_FAILED"}
            return None, [syntax_error]
        errors = validate(self.schema, document, self._rules)
        for invalid in errors:
            invalid.extensions = {
                "code": (invalid.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED")
            }
        return (None, errors) if errors else (document, [])
