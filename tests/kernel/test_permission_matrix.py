"""Every root field x every built-in role: allowed or FORBIDDEN exactly as declared.

The expectation is derived from what each field declares (``kernel.graphql.fields``) and
what the centers grant each built-in role (their ``policy.py``), so the matrix grows by
itself as fields are added. Each call uses minimal valid arguments; an allowed call may
still fail for its own reasons (a random id finds nothing, a business rule refuses the
sample input), it just must not be refused by the permission guard.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
    get_named_type,
    is_leaf_type,
)

from kernel.authz.permissions import BUILTIN_ROLES, Authenticated, Permission, merge_grants
from kernel.graphql.subgraph import declared_requirement, root_types
from schema.subgraphs import SUBGRAPHS, composed_schema
from tests.conftest import TenantFixture, gql

GRANTS = merge_grants([s.grants for s in SUBGRAPHS])

SCALARS: dict[str, Any] = {
    "ID": lambda: str(uuid.uuid4()),
    "String": lambda: "x",
    "Int": lambda: 1,
    "Float": lambda: 1.0,
    "Boolean": lambda: False,
    "DateTime": lambda: datetime.now(UTC).isoformat(),
    "Date": lambda: date.today().isoformat(),
    "UUID": lambda: str(uuid.uuid4()),
    "JSON": lambda: {},
    "Decimal": lambda: "1",
    "_Any": lambda: {"__typename": "Nothing", "id": str(uuid.uuid4())},
}


def sample(type_: GraphQLInputType) -> Any:
    """A minimal value of an input type: only required fields, each with a dummy value."""
    if isinstance(type_, GraphQLNonNull):
        return sample(type_.of_type)
    if isinstance(type_, GraphQLList):
        return [sample(type_.of_type)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLScalarType):
        make = SCALARS.get(type_.name)
        if make is None:
            pytest.fail(f"the matrix needs a sample value for scalar {type_.name}")
        return make()
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: sample(field.type)
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    raise AssertionError(f"unexpected input type {type_}")


def operation(kind: str, name: str, field: GraphQLField) -> tuple[str, dict[str, Any]]:
    required = {
        arg_name: arg
        for arg_name, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
    }
    definitions = ", ".join(f"${a}: {arg.type}" for a, arg in required.items())
    arguments = ", ".join(f"{a}: ${a}" for a in required)
    selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
    text = (
        f"{kind} Probe{f'({definitions})' if definitions else ''} "
        f"{{ {name}{f'({arguments})' if arguments else ''}{selection} }}"
    )
    return text, {a: sample(arg.type) for a, arg in required.items()}


def matrix() -> list[tuple[str, str, str, Permission | Authenticated]]:
    cases = []
    for subgraph in SUBGRAPHS:
        for root in root_types(subgraph.graphql_schema):
            if root.name == "Subscription":
                continue  # not served over POST; guarded the same way (see subgraph.py)
            for name, field in root.fields.items():
                if name in ("_entities", "_service"):
                    continue
                requirement = declared_requirement(field)
                assert requirement is not None, name
                kind = "mutation" if root.name == "Mutation" else "query"
                cases.extend((kind, name, role, requirement) for role in BUILTIN_ROLES)
    return cases


def expected_allowed(role: str, requirement: Permission | Authenticated) -> bool:
    return isinstance(requirement, Authenticated) or requirement in GRANTS.get(role, [])


async def test_every_root_field_is_allowed_or_forbidden_per_role_as_declared(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    schema = composed_schema()
    tokens = {role: await tenant.token(role) for role in BUILTIN_ROLES}
    mismatches = []
    cases = matrix()
    assert len(cases) >= 5 * 30
    for kind, name, role, requirement in cases:
        root = schema.mutation_type if kind == "mutation" else schema.query_type
        assert root is not None
        text, variables = operation(kind, name, root.fields[name])
        body = await gql(client, tokens[role], text, variables)
        errors = body.get("errors", [])
        if any("path" not in e for e in errors):
            mismatches.append(f"{name} as {role}: request refused: {errors}")
            continue
        # The guard's refusal names the declared permission; a resolver may still refuse
        # an allowed caller for a business reason (FORBIDDEN with its own message).
        forbidden = any(
            e.get("path", [None])[0] == name
            and e["extensions"]["code"] == "FORBIDDEN"
            and e["message"] == f"not allowed: {requirement}"
            for e in errors
        )
        if forbidden == expected_allowed(role, requirement):
            verdict = "FORBIDDEN" if forbidden else "allowed"
            mismatches.append(f"{name} as {role}: {verdict}, declared {requirement}")
    assert mismatches == []
