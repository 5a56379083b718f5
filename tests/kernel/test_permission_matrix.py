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
from kernel.graphql.fields import NARROWED, StoreArg, StoreBinding
from kernel.graphql.subgraph import declared_requirement, declared_store, root_types
from schema.subgraphs import SUBGRAPHS, composed_schema, store_permissions
from tests.builders import open_shop
from tests.conftest import TenantFixture, gql

GRANTS = merge_grants([s.grants for s in SUBGRAPHS])
STORE_PERMISSIONS = store_permissions()
# Roles an admin may hold at a store (tenant_admin is refused there, customer is no staff).
STORE_ROLES = ("store_manager", "cashier")

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


def store_cases() -> list[
    tuple[str, str, GraphQLField, Permission | Authenticated, StoreBinding | None]
]:
    cases = []
    schema = composed_schema()
    for root in (schema.query_type, schema.mutation_type):
        assert root is not None
        for name, field in root.fields.items():
            if name in ("_entities", "_service"):
                continue
            requirement = declared_requirement(field)
            assert requirement is not None, name
            kind = "mutation" if root is schema.mutation_type else "query"
            cases.append((kind, name, field, requirement, declared_store(field)))
    return cases


def _set(variables: dict[str, Any], path: str, value: str) -> bool:
    """Put ``value`` at ``path`` if the sampled variables have that argument."""
    *parents, leaf = path.split(".")
    target: Any = variables
    for name in parents:
        target = target.get(name) if isinstance(target, dict) else None
    if not isinstance(target, dict) or leaf not in target:
        return False
    target[leaf] = value
    return True


def expected_at_store(
    role: str,
    requirement: Permission | Authenticated,
    binding: StoreBinding | None,
    names_held_store: bool,
) -> bool:
    """What a role held only at store S may call: shared permissions anywhere; store
    permissions where the field checks per store and the call is about S (a random id
    is nobody's, and answers FORBIDDEN); nothing else."""
    if isinstance(requirement, Authenticated):
        return True
    if requirement not in GRANTS.get(role, []):
        return False
    if requirement in STORE_PERMISSIONS.shared:
        return True
    if requirement not in STORE_PERMISSIONS.at_store:
        return False
    return binding is NARROWED or (isinstance(binding, StoreArg) and names_held_store)


async def test_a_role_held_at_one_store_reaches_exactly_what_is_declared(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    """Every root field x each role held at store S: calls about S pass the guard exactly
    when declared; calls about another real store, or about ids of nothing, never do
    unless the permission is shared."""
    held, other = await open_shop(tenant, stock=0), await open_shop(tenant, stock=0)
    tokens = {role: await tenant.store_token(role, held.store_id) for role in STORE_ROLES}
    mismatches = []
    reached_at_store = 0  # store-permission calls the guard let through
    cases = store_cases()
    assert sum(1 for c in cases if c[4] is not None) >= 15
    for kind, name, field, requirement, binding in cases:
        for store in (held.store_id, other.store_id):
            text, variables = operation(kind, name, field)
            names_held = isinstance(binding, StoreArg) and _set(variables, binding.path, str(store))
            if store == other.store_id and not names_held:
                continue  # the call names no store: once is enough
            for role in STORE_ROLES:
                body = await gql(client, tokens[role], text, variables)
                errors = body.get("errors", [])
                if any("path" not in e for e in errors):
                    mismatches.append(f"{name} as {role}@store: request refused: {errors}")
                    continue
                forbidden = any(
                    e.get("path", [None])[0] == name
                    and e["extensions"]["code"] == "FORBIDDEN"
                    and e["message"] == f"not allowed: {requirement}"
                    for e in errors
                )
                expected = expected_at_store(
                    role, requirement, binding, names_held and store == held.store_id
                )
                if not forbidden and requirement in STORE_PERMISSIONS.at_store:
                    reached_at_store += 1
                if forbidden == expected:
                    verdict = "FORBIDDEN" if forbidden else "allowed"
                    where = "its store" if store == held.store_id else "another store"
                    mismatches.append(
                        f"{name} as {role} held at a store, about {where}: {verdict}, "
                        f"declared {requirement} {binding!r}"
                    )
    assert mismatches == []
    assert reached_at_store >= 20
