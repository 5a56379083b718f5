"""GraphQL over HTTP: POST JSON, GET for queries, ``application/graphql-response+json``.

One transport for the composed schema at ``/graphql`` and for each subgraph at
``/subgraphs/<center>/graphql``. Every request is authenticated; a request is one unit
of work that commits only when the operation produced no error.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from kernel import metrics, tracing
from kernel.authn import Authenticator
from kernel.authz.enforcers import PolicyStore
from kernel.authz.permissions import Permission
from kernel.context import RequestContext
from kernel.db import Database, is_unavailable
from kernel.errors import UnauthenticatedError
from kernel.graphql.documents import (
    PERSISTED_QUERY_NOT_FOUND,
    PERSISTED_QUERY_NOT_IN_LIST,
    DocumentRefused,
    DocumentStore,
    persisted_query,
)
from kernel.graphql.errors import UNAVAILABLE, UNAVAILABLE_MESSAGE, format_error
from kernel.graphql.execution import execute_settled
from kernel.graphql.graphiql import GRAPHIQL_HTML
from kernel.graphql.inputs import NoNulInLiterals, variables_error
from kernel.graphql.limits import (
    NoIntrospection,
    RateLimiter,
    cost_limit,
    operation_limits,
    request_cost_error,
)
from kernel.graphql.plans.planner import ReadPlanner
from kernel.plugins.registry import PluginRegistry
from kernel.settings import Settings

log = logging.getLogger("zhongtai.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
DOCUMENT_CACHE_SIZE = 512
# A database outage is short (a restart, a fail-over): ask clients to come back soon.
RETRY_AFTER_UNAVAILABLE = "1"


def encode_json(body: Any) -> bytes:
    """A response body as JSON bytes: orjson, or the standard library for what orjson
    refuses (nesting deeper than 254 levels inside a ``JSON`` scalar value)."""
    try:
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(
    body: Any, *, status: int = 200, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(encode_json(body), status_code=status, media_type=media_type, headers=headers)


class RequestRefused(Exception):
    """The HTTP request itself is malformed or too big: answered before any GraphQL."""

    def __init__(self, status: int, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class GraphQLParams:
    """The GraphQL-over-HTTP request parameters, checked for shape."""

    query: str | None  # None: named by extensions.persistedQuery
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def _decode(raw: bytes | str, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        # orjson refuses nesting deeper than 1024 levels instead of overflowing the stack.
        if "depth limit" in str(error) or "recursion" in str(error).lower():
            raise RequestRefused(400, f"{what} is nested too deeply") from None
        raise RequestRefused(400, f"{what} is not valid JSON") from None


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with HTTP 413 past ``limit`` bytes (read no further)."""
    too_large = RequestRefused(413, f"request body larger than {limit} bytes", "PAYLOAD_TOO_LARGE")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def read_params(request: Request, max_bytes: int) -> GraphQLParams:
    """``query``, ``variables``, ``operationName`` and ``extensions`` of a GET (query
    string, ``variables``/``extensions`` as JSON) or a POST (a JSON object body)."""
    if request.method == "GET":
        raw: Any = dict(request.query_params)
        for encoded in ("variables", "extensions"):
            if encoded in raw:
                raw[encoded] = _decode(raw[encoded], encoded)
    else:
        content_type = request.headers.get("content-type", "")
        if "application/json" not in content_type:
            raise RequestRefused(400, "POST bodies must be application/json")
        raw = _decode(await read_body(request, max_bytes), "body")
    if not isinstance(raw, dict):
        raise RequestRefused(400, "body must be a JSON object")
    query, variables = raw.get("query"), raw.get("variables")
    name, extensions = raw.get("operationName"), raw.get("extensions")
    if variables is not None and not isinstance(variables, dict):
        raise RequestRefused(400, "variables must be an object")
    if name is not None and not isinstance(name, str):
        raise RequestRefused(400, "operationName must be a string")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestRefused(400, "extensions must be an object")
    if query is None and extensions is not None and "persistedQuery" in extensions:
        return GraphQLParams(None, variables, name, extensions)
    if not isinstance(query, str) or not query.strip():
        raise RequestRefused(400, "query must be a non-empty string")
    return GraphQLParams(query, variables, name, extensions)


@dataclass(frozen=True)
class _Prepared:
    document: DocumentNode | None
    errors: Sequence[GraphQLError]


def _lost_database(error: GraphQLError) -> bool:
    original: BaseException | None = error.original_error
    while isinstance(original, GraphQLError):
        original = original.original_error
    return original is not None and is_unavailable(original)


def _is_sole_mutation(operation: OperationDefinitionNode) -> bool:
    selections = operation.selection_set.selections
    return (
        operation.operation == OperationType.MUTATION
        and len(selections) == 1
        and isinstance(selections[0], FieldNode)
    )


class GraphQLEndpoint:
    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        settings: Settings,
        db: Database,
        authenticator: Authenticator,
        policies: PolicyStore,
        planner: ReadPlanner | None = None,
        plugins: PluginRegistry | None = None,
        documents: DocumentStore | None = None,
        public: bool = False,
    ) -> None:
        self.schema = schema
        # The front ends' endpoint (/graphql): trusted-documents-only applies here; a
        # gateway's subgraph fetches are its own documents (the gateway enforces it).
        self._public = public
        # Documents by hash (APQ), shared by every endpoint of the process.
        self.documents = documents or DocumentStore(settings.persisted_queries_capacity)
        # Known documents answered by one statement (kernel.graphql.plans); None: off.
        self.planner = planner
        self._plugins = plugins
        self._settings = settings
        self._db = db
        self._authenticator = authenticator
        self._policies = policies
        self._rules: list[type[ASTValidationRule]] = [
            *specified_rules,
            operation_limits(settings.max_query_depth, settings.max_aliases),
            cost_limit(settings.max_query_cost),
            NoNulInLiterals,
        ]
        if not settings.introspection_enabled:
            self._rules.append(NoIntrospection)
        policies.declare(_required_permissions(schema))
        # Shared by every endpoint of the process through the authenticator.
        self._tenant_rates: RateLimiter = authenticator.tenant_rates
        self._caller_rates: RateLimiter = authenticator.caller_rates
        # Parsing and validating depend only on the text: do it once per distinct query.
        self._documents: OrderedDict[str, _Prepared] = OrderedDict()

    async def __call__(self, request: Request) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        accept = request.headers.get("accept", "")
        media_type = GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else "application/json"

        if request.method == "GET" and "text/html" in accept and self._settings.is_development:
            return HTMLResponse(GRAPHIQL_HTML)
        if request.method not in ("GET", "POST"):
            return self._error(405, "use GET or POST", "METHOD_NOT_ALLOWED", media_type)
        try:
            return await self._serve(request, request_id, media_type)
        except RequestRefused as refused:
            return self._error(refused.status, refused.message, refused.code, media_type)
        except Exception as error:
            # Outside execution (authentication, policy loading): the database, or our bug.
            if is_unavailable(error):
                log.warning("database unavailable: %s", error, extra={"request_id": request_id})
                return self._unavailable(media_type)
            log.exception("request failed", extra={"request_id": request_id})
            return self._error(
                500, "internal error", "INTERNAL", media_type, extra={"requestId": request_id}
            )

    async def _serve(self, request: Request, request_id: str, media_type: str) -> Response:
        try:
            principal = await self._authenticator.authenticate_request(
                request.headers.get("authorization"), request.headers.get("x-api-key"), self._db
            )
        except UnauthenticatedError as error:
            return self._error(
                401,
                str(error),
                "UNAUTHENTICATED",
                media_type,
                headers={"WWW-Authenticate": 'Bearer realm="zhongtai"'},
            )

        waited = max(
            self._tenant_rates.allow(principal.tenant_id),
            self._caller_rates.allow((principal.tenant_id, principal.caller)),
        )
        if waited > 0:
            return self._error(
                429,
                "rate limit exceeded; retry later",
                "RATE_LIMITED",
                media_type,
                headers={"Retry-After": str(max(1, round(waited + 0.5)))},
            )

        params = await read_params(request, self._settings.max_request_bytes)
        variables, operation_name = params.variables, params.operation_name
        # A request error (GraphQL-over-HTTP): 400 when the client understands it, else 200.
        refused_status = 400 if media_type == GRAPHQL_RESPONSE else 200
        try:
            persisted = persisted_query(params.extensions)
            query = self.documents.resolve(params.query, persisted)
        except DocumentRefused as refused_document:
            if refused_document.code == PERSISTED_QUERY_NOT_FOUND:
                # Not 400: Apollo's link stops using APQ for good on a 400.
                status = 404 if media_type == GRAPHQL_RESPONSE else 200
            else:
                status = 400
            return self._error(status, refused_document.message, refused_document.code, media_type)

        if (
            self._public
            and self._settings.trusted_documents_only(principal.tenant_id)
            and not self.documents.is_trusted(query)
        ):
            return self._error(
                403,
                "this tenant runs trusted documents only; this operation is not one",
                PERSISTED_QUERY_NOT_IN_LIST,
                media_type,
            )

        prepared = self._prepare(query)
        if prepared.document is None:
            refused = {"errors": [format_error(e, request_id) for e in prepared.errors]}
            metrics.record_refusals(refused["errors"])
            return json_response(refused, status=refused_status, media_type=media_type)
        if persisted is not None and params.query is not None:
            self.documents.register(persisted.sha256, query)  # checked, parsed, valid
        operation = get_operation_ast(prepared.document, operation_name)
        if operation is None:
            return self._error(400, "operation not found or ambiguous", "BAD_REQUEST", media_type)
        if request.method == "GET" and operation.operation != OperationType.QUERY:
            return self._error(
                405,
                "only queries may use GET",
                "METHOD_NOT_ALLOWED",
                media_type,
                headers={"Allow": "POST"},
            )
        bad_input = variables_error(variables)
        if bad_input is not None:
            refused = {"errors": [format_error(bad_input, request_id)]}
            metrics.record_refusals(refused["errors"])
            return json_response(refused, status=refused_status, media_type=media_type)
        too_costly = request_cost_error(
            self.schema, prepared.document, operation, variables, self._settings.max_query_cost
        )
        if too_costly is not None:
            refused = {"errors": [format_error(too_costly, request_id)]}
            metrics.record_refusals(refused["errors"])
            return json_response(refused, status=refused_status, media_type=media_type)

        policy = await self._policies.for_tenant(principal.tenant_id)
        context = RequestContext(
            principal=principal,
            policy=policy,
            db=self._db,
            request_id=request_id,
            sole_mutation=_is_sole_mutation(operation),
            policies=self._policies,
            settings=self._settings,
            plugins=self._plugins,
        )
        started = time.perf_counter()
        name = operation.name.value if operation.name else None
        with tracing.operation_span(operation.operation.value, name, principal.tenant_id):
            result = await self._execute(
                prepared.document, operation, variables, operation_name, context
            )
        context.record_denials()
        # Execution started, so ``data`` is always present (null when the root failed).
        body: dict[str, Any] = {"data": result.data}
        errors = list(result.errors or ())
        lost = next((e for e in errors if _lost_database(e)), None)
        if lost is not None:
            # The transaction is gone: the other fields' errors are its echoes, and
            # whatever data was read belongs to an operation to be retried whole.
            body, errors = {"data": None}, [lost]
        if errors:
            body["errors"] = [format_error(e, request_id) for e in errors]
        seconds = time.perf_counter() - started
        codes = [e["extensions"]["code"] for e in body.get("errors", [])]
        metrics.record_operation(operation.operation.value, name, seconds, codes)
        log.info(
            "%s %s",
            operation.operation.value,
            name or "anonymous",
            extra={
                "request_id": request_id,
                "tenant_id": principal.tenant_id,
                "subject": principal.subject,
                "duration_ms": round(seconds * 1000, 2),
                "error_codes": codes,
            },
        )
        headers = {"x-request-id": request_id}
        if UNAVAILABLE in codes:
            # The operation's transaction did not commit (or its commit's outcome is
            # unknown): the whole request is to be retried, not a field of it.
            headers["Retry-After"] = RETRY_AFTER_UNAVAILABLE
            return json_response(body, status=503, media_type=media_type, headers=headers)
        return json_response(body, media_type=media_type, headers=headers)

    async def _execute(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: RequestContext,
    ) -> ExecutionResult:
        committed = False
        try:
            # A known document answered by one statement, else field by field.
            compiled = (
                await self.planner.run(document, operation, variables, context)
                if self.planner is not None
                else None
            )
            result = compiled or await execute_settled(
                self.schema, document, variables, operation_name, context
            )
            if not result.errors and not context.rollback_only:
                await context.finish(commit=True)
                committed = True
            return result
        except Exception as error:  # a failing commit, typically
            return ExecutionResult(
                data=None, errors=[GraphQLError(str(error), original_error=error)]
            )
        finally:
            if not committed:
                await context.finish(commit=False)

    def _prepare(self, query: str) -> _Prepared:
        prepared = self._documents.get(query)
        if prepared is not None:
            self._documents.move_to_end(query)
            return prepared
        limit = self._settings.max_query_tokens
        try:
            document = parse(
                query, max_lexical_tokens=limit, max_comments=limit, max_source_length=limit * 50
            )
        except GraphQLError as syntax_error:
            too_big = "more than" in syntax_error.message or "longer than" in syntax_error.message
            syntax_error.extensions = {
                "code": "BAD_OPERATION" if too_big else "GRAPHQL_PARSE_FAILED"
            }
            return _Prepared(None, [syntax_error])
        errors = validate(self.schema, document, self._rules)
        for invalid in errors:
            code = (invalid.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED")
            invalid.extensions = {**(invalid.extensions or {}), "code": code}
        prepared = _Prepared(None if errors else document, errors)
        self._documents[query] = prepared
        if len(self._documents) > DOCUMENT_CACHE_SIZE:
            self._documents.popitem(last=False)
        return prepared

    @staticmethod
    def _error(
        status: int,
        message: str,
        code: str,
        media_type: str,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Response:
        metrics.record_refusal(code)
        return json_response(
            {"errors": [{"message": message, "extensions": {"code": code, **(extra or {})}}]},
            status=status,
            media_type=media_type,
            headers=headers,
        )

    def _unavailable(self, media_type: str) -> Response:
        return self._error(
            503,
            UNAVAILABLE_MESSAGE,
            UNAVAILABLE,
            media_type,
            headers={"Retry-After": RETRY_AFTER_UNAVAILABLE},
        )


def _required_permissions(schema: GraphQLSchema) -> set[Permission]:
    """Every permission a root field of ``schema`` requires (see ``guard_root_fields``)."""
    found: set[Permission] = set()
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        for graphql_field in (root.fields if root else {}).values():
            for resolver in (graphql_field.resolve, graphql_field.subscribe):
                requirement = getattr(resolver, "_zhongtai_requirement", None)
                if isinstance(requirement, Permission):
                    found.add(requirement)
    return found
