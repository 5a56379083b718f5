"""NUL characters and over-deep values in arguments and variables: refused as the
client's fault, naming where they are, before any field runs (kernel.graphql.inputs)."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
)

from kernel.app import Runtime
from kernel.graphql.inputs import MAX_VARIABLE_DEPTH
from tests.builders import open_shop
from tests.conftest import TenantFixture, gql

NUL = "bad\u0000text"
PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id } userErrors { field code } }
}
"""
ADJUST = """
mutation($input: AdjustStockInput!) {
  adjustStock(input: $input) { stockLevel { onHand } userErrors { field code } }
}
"""


def _refused(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    error: dict[str, Any] = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    assert "NUL" in error["message"]
    return error


async def test_nul_in_a_coupon_code_variable_names_the_variable_path(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    token = await tenant.token("tenant_admin")
    order = {
        "idempotencyKey": secrets.token_hex(8),
        "storeId": str(shop.store_id),
        "couponCodes": ["OK", NUL],
        "lines": [{"skuId": str(shop.sku_ids[0]), "quantity": 1}],
    }
    error = _refused(await gql(client, token, PLACE, {"input": order}))
    assert error["extensions"]["field"] == ["input", "couponCodes", "1"]
    assert "input.couponCodes[1]" in error["message"]
    orders = await gql(client, token, "{ orders(first: 5) { edges { node { id } } } }")
    assert orders["data"]["orders"]["edges"] == []


async def test_nul_in_a_stock_reason_is_refused_as_variable_and_as_literal(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    token = await tenant.token("tenant_admin")
    adjust = {
        "idempotencyKey": secrets.token_hex(8),
        "storeId": str(shop.store_id),
        "skuId": str(shop.sku_ids[0]),
        "delta": 5,
        "reason": NUL,
    }
    error = _refused(await gql(client, token, ADJUST, {"input": adjust}))
    assert error["extensions"]["field"] == ["input", "reason"]
    fields = f'idempotencyKey: "k1", storeId: "{shop.store_id}", skuId: "{shop.sku_ids[0]}"'
    literal = (
        f'mutation {{ adjustStock(input: {{{fields}, delta: 5, reason: "waste\\u0000"}})'
        " { userErrors { code } } }"
    )
    error = _refused(await gql(client, token, literal))
    assert error["extensions"]["field"] == ["input", "reason"]
    assert 'Argument "input" of "adjustStock"' in error["message"]
    assert error["locations"]


async def test_nul_in_an_order_number_is_refused_over_post_and_get(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    query = "query($n: String!) { orderByNumber(number: $n) { id } }"
    error = _refused(await gql(client, token, query, {"n": NUL}))
    assert error["extensions"]["field"] == ["n"]
    response = await client.get(
        "/graphql",
        params={"query": '{ orderByNumber(number: "A\\u0000") { id } }'},
        headers={"authorization": f"Bearer {token}"},
    )
    _refused(response.json())


async def test_nul_in_an_entity_representation_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    query = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"
    body = await gql(
        client,
        token,
        query,
        {"r": [{"__typename": "Order", "id": NUL}]},
        path="/subgraphs/order/graphql",
    )
    assert _refused(body)["extensions"]["field"] == ["r", "0", "id"]


async def test_a_variable_nested_too_deeply_is_refused(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    token = await tenant.token("tenant_admin")
    deep: Any = "leaf"
    for _ in range(MAX_VARIABLE_DEPTH + 5):
        deep = [deep]
    query = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"
    body = await gql(client, token, query, {"r": deep}, path="/subgraphs/order/graphql")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    assert "nested deeper" in body["errors"][0]["message"]


def _value(kind: GraphQLInputType, depth: int = 0) -> Any:
    """A value of ``kind`` whose every string (String, ID, custom scalars) holds NUL."""
    if isinstance(kind, GraphQLNonNull):
        return _value(kind.of_type, depth)
    if isinstance(kind, GraphQLList):
        return [_value(kind.of_type, depth)]
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLScalarType):
        return {"Int": 1, "Float": 1.0, "Boolean": True}.get(kind.name, NUL)
    assert isinstance(kind, GraphQLInputObjectType)
    return {
        name: _value(field.type, depth + 1)
        for name, field in kind.fields.items()
        if isinstance(field.type, GraphQLNonNull) or depth < 2
    }


def _holds_text(argument: GraphQLArgument) -> bool:
    stack: list[Any] = [get_named_type(argument.type)]
    seen: set[str] = set()
    while stack:
        named = stack.pop()
        if named.name in seen:
            continue
        seen.add(named.name)
        if isinstance(named, GraphQLScalarType) and named.name not in ("Int", "Float", "Boolean"):
            return True
        if isinstance(named, GraphQLInputObjectType):
            stack.extend(get_named_type(f.type) for f in named.fields.values())
    return False


async def test_every_root_field_refuses_nul_in_its_text_arguments(
    client: httpx.AsyncClient, tenant: TenantFixture, runtime: Runtime
) -> None:
    """The sweep: each root field of the composed schema that takes text, given NUL in
    every string of its arguments, answers BAD_USER_INPUT (never INTERNAL)."""
    token = await tenant.token("tenant_admin")
    schema = runtime.composed.schema
    swept = 0
    for root, keyword in ((schema.query_type, "query"), (schema.mutation_type, "mutation")):
        assert root is not None
        for name, field in root.fields.items():
            arguments = {a: arg for a, arg in field.args.items() if _holds_text(arg)}
            if not arguments:
                continue
            required = {
                a: arg
                for a, arg in field.args.items()
                if isinstance(arg.type, GraphQLNonNull) or a in arguments
            }
            declared = ", ".join(f"${a}: {arg.type}" for a, arg in required.items())
            passed = ", ".join(f"{a}: ${a}" for a in required)
            selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
            query = f"{keyword}({declared}) {{ {name}({passed}){selection} }}"
            variables = {a: _value(arg.type) for a, arg in required.items()}
            body = await gql(client, token, query, variables)
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (name, body)
            swept += 1
    assert swept > 50
