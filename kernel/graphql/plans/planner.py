"""Run known query documents as one statement; everything else takes the generic path."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
)
from graphql.execution.values import get_variable_values

from kernel import prepared
from kernel.context import RequestContext
from kernel.graphql.plans.compiler import Compiler, Plan
from kernel.graphql.plans.maps import FieldMap, RootMap, SqlMap, Unplannable

log = logging.getLogger("zhongtai.plans")

PLAN_CACHE_SIZE = 512


class ReadPlanner:
    """Compiles each document once (cached by its text and operation name) and answers
    it with one statement; ``None`` from ``run`` means: take the generic path."""

    def __init__(self, schema: GraphQLSchema, maps: Sequence[SqlMap]) -> None:
        self._schema = schema
        fields: dict[str, dict[str, FieldMap]] = {}
        roots: dict[str, RootMap] = {}
        for center in maps:
            for type_map in center.types:
                mapped = fields.setdefault(type_map.type_name, {})
                for name, field_map in type_map.fields.items():
                    if name in mapped:
                        raise ValueError(f"{type_map.type_name}.{name} is mapped twice")
                    mapped[name] = field_map
            for name, root_map in center.roots.items():
                if name in roots:
                    raise ValueError(f"root field {name} is mapped twice")
                roots[name] = root_map
        self._fields = fields
        self._roots = roots
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()
        # Requests answered by a plan (tests assert the compiled path really ran).
        self.served = 0

    def plan(self, document: DocumentNode, operation: OperationDefinitionNode) -> Plan | None:
        source = operation.loc.source.body if operation.loc is not None else None
        if source is None:
            return None
        key = (source, operation.name.value if operation.name else None)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        try:
            found: Plan | None = Compiler(
                self._schema, self._fields, self._roots, operation, fragments
            ).compile()
        except Unplannable as reason:
            log.debug("generic path: %s", reason)
            found = None
        self._plans[key] = found
        if len(self._plans) > PLAN_CACHE_SIZE:
            self._plans.popitem(last=False)
        return found

    async def run(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
        context: RequestContext,
    ) -> ExecutionResult | None:
        plan = self.plan(document, operation)
        if plan is None:
            return None
        coerced = get_variable_values(
            self._schema, operation.variable_definitions or (), dict(variables or {})
        )
        if isinstance(coerced, list):
            return None  # the generic path reports the variables' errors
        try:
            bound = plan.bind(context, coerced)
        except (Unplannable, GraphQLError):
            return None
        if bound is None:
            return None
        sql, values = bound
        try:
            text = await prepared.fetchval(context.session, prepared.Statement(sql), *values)
        except Exception:
            # Never an error of the compiler's making: start over on the generic path
            # (nothing was written; the transaction is rolled back and begun afresh).
            log.exception("compiled read failed; answering through the generic path")
            await context.finish(commit=False)
            return None
        self.served += 1
        return ExecutionResult(data=orjson.loads(text))
