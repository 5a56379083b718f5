"""GraphQL over HTTP: POST JSON, GET for queries, ``application/graphql-response+json``.

One transport for the composed schema at ``/graphql`` and for each subgraph at
``/subgraphs/<center>/graphql``. Every request is authenticated; a request is one unit
of work that commits only when the operation produced no error.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from kernel.authn import Authenticator
from kernel.authz.enforcers import PolicyStore
from kernel.authz.permissions import Permission
from kernel.context import RequestContext
from kernel.db import Database
from kernel.errors import UnauthenticatedError
from kernel.graphql.errors import format_error
from kernel.graphql.graphiql import GRAPHIQL_HTML
from kernel.graphql.limits import (
    NoIntrospection,
    RateLimiter,
    cost_limit,
    operation_limits,
    request_cost_error,
)
from kernel.graphql.plans.planner import ReadPlanner
from kernel.settings import Settings

log = logging.getLogger("zhongtai.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
DOCUMENT_CACHE_SIZE = 512


@dataclass(frozen=True)
class _Prepared:
    document: DocumentNode | None
    errors: Sequence[GraphQLError]


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
    ) -> None:
        self.schema = schema
        # Known documents answered by one statement (kernel.graphql.plans); None: off.
        self.planner = planner
        self._settings = settings
        self._db = db
        self._authenticator = authenticator
        self._policies = policies
        self._rules: list[type[ASTValidationRule]] = [
            *specified_rules,
            operation_limits(settings.max_query_depth, settings.max_aliases),
            cost_limit(settings.max_query_cost),
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

        params = await self._params(request)
        if isinstance(params, str):
            return self._error(400, params, "BAD_REQUEST", media_type)
        query, variables, operation_name = params

        prepared = self._prepare(query)
        if prepared.document is None:
            status = 400 if media_type == GRAPHQL_RESPONSE else 200
            refused = {"errors": [format_error(e, request_id) for e in prepared.errors]}
            return JSONResponse(refused, status_code=status, media_type=media_type)
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
        too_costly = request_cost_error(
            self.schema, prepared.document, operation, variables, self._settings.max_query_cost
        )
        if too_costly is not None:
            status = 400 if media_type == GRAPHQL_RESPONSE else 200
            refused = {"errors": [format_error(too_costly, request_id)]}
            return JSONResponse(refused, status_code=status, media_type=media_type)

        policy = await self._policies.for_tenant(principal.tenant_id)
        context = RequestContext(
            principal=principal,
            policy=policy,
            db=self._db,
            request_id=request_id,
            sole_mutation=_is_sole_mutation(operation),
            policies=self._policies,
            settings=self._settings,
        )
        started = time.perf_counter()
        result = await self._execute(
            prepared.document, operation, variables, operation_name, context
        )
        context.record_denials()
        # Execution started, so ``data`` is always present (null when the root failed).
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [format_error(e, request_id) for e in result.errors]
        log.info(
            "%s %s",
            operation.operation.value,
            operation.name.value if operation.name else "anonymous",
            extra={
                "request_id": request_id,
                "tenant_id": principal.tenant_id,
                "subject": principal.subject,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "error_codes": [e["extensions"]["code"] for e in body.get("errors", [])],
            },
        )
        return JSONResponse(body, media_type=media_type, headers={"x-request-id": request_id})

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
            outcome = compiled or execute(
                self.schema,
                document,
                context_value=context,
                variable_values=variables,
                operation_name=operation_name,
            )
            result = await outcome if inspect.isawaitable(outcome) else outcome
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
            invalid.extensions = {"code": code}
        prepared = _Prepared(None if errors else document, errors)
        self._documents[query] = prepared
        if len(self._documents) > DOCUMENT_CACHE_SIZE:
            self._documents.popitem(last=False)
        return prepared

    async def _params(
        self, request: Request
    ) -> tuple[str, dict[str, Any] | None, str | None] | str:
        if request.method == "GET":
            raw: dict[str, Any] = dict(request.query_params)
            if "variables" in raw:
                try:
                    raw["variables"] = json.loads(raw["variables"])
                except ValueError:
                    return "variables must be JSON"
        else:
            content_type = request.headers.get("content-type", "")
            if "application/json" not in content_type:
                return "POST bodies must be application/json"
            try:
                raw = await request.json()
            except ValueError:
                return "body is not valid JSON"
        if not isinstance(raw, dict):
            return "body must be a JSON object"
        query, variables, name = raw.get("query"), raw.get("variables"), raw.get("operationName")
        if not isinstance(query, str) or not query.strip():
            return "query must be a non-empty string"
        if variables is not None and not isinstance(variables, dict):
            return "variables must be an object"
        if name is not None and not isinstance(name, str):
            return "operationName must be a string"
        return query, variables, name

    @staticmethod
    def _error(
        status: int,
        message: str,
        code: str,
        media_type: str,
        headers: dict[str, str] | None = None,
    ) -> Response:
        return JSONResponse(
            {"errors": [{"message": message, "extensions": {"code": code}}]},
            status_code=status,
            media_type=media_type,
            headers=headers,
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
