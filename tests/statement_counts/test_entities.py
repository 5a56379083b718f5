"""How many SQL statements a subgraph's ``_entities`` sends, for 1 and for 100
representations of every entity type it resolves: the same number (a gateway sends
one ``_entities`` call with every reference of a page, so this is the page's N+1 guard
in the federated deployment).

Each batch is posted to ``/subgraphs/<center>/graphql`` as a tenant admin, selecting the
fields the subgraph itself adds to the type (its lists included, where an N+1 would
hide). The 100 representations cycle over at least 10 real entities of the brand
(``conftest.py``); the single one is the first of them. Counted as in
``test_documented_queries.py``: every statement, warm request, RLS binding included.

When a change sends fewer statements, lower the number here; a type whose count grows
with the batch today is marked ``xfail(strict=True)`` with the field to blame.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLUnionType

from tests.conftest import gql
from tests.sql_statements import statements_sent
from tests.statement_counts.conftest import Brand

# (subgraph, entity type) -> (selection on the type, statements for 1 or 100 of them)
ENTITIES: dict[tuple[str, str], tuple[str, int]] = {
    ("fulfillment", "Order"): (
        "id shipments { id status lines { lineNo quantity } trackingEvents { description } }",
        5,  # one asks the order center which orders exist, and where (decision 0110)
    ),
    ("fulfillment", "Shipment"): (
        "id status carrier lines { lineNo quantity } trackingEvents { description }"
        " pickupPoint { id }",
        4,
    ),
    ("fulfillment", "Sku"): ("id", 0),
    ("fulfillment", "Store"): ("id", 0),
    ("member", "Member"): (
        "id phone displayName level growth identities { kind externalId } addresses { id } tags",
        5,
    ),
    ("order", "Order"): (
        "id number status total { amount } lines { lineNo discounts { amount { amount } } }"
        " subOrders { subOrderNo } history { event } statusViews { buyer } availableEvents",
        6,
    ),
    ("order", "Sku"): ("id", 0),
    ("order", "Store"): ("id", 0),
    ("payment", "Order"): ("id payments { id amount { amount } }", 3),  # 0110, as above
    ("payment", "Payment"): ("id tender status amount { amount } createdAt", 2),
    ("points", "Member"): ("id points { balance }", 3),  # the member center: which exist
    ("points", "PointsEntry"): ("id delta balanceAfter reason", 2),
    ("product", "Product"): (
        "id name skus { id prices { channel } } category { name } listings { channel }",
        6,
    ),
    ("product", "Sku"): (
        'id code price { amount } prices { channel } priceIn(channel: "mini_program") { amount }'
        " product { name }",
        4,
    ),
    ("promotion", "CouponTemplate"): ("id name issued redeemed scope { skuIds }", 2),
    ("promotion", "PromotionActivity"): ("id name status rules { priority } budgetUsed", 3),
    ("promotion", "Sku"): ("id activePromotions { id name }", 3),
    ("stock", "Sku"): ("id stockLevels { available }", 2),
    ("stock", "StockLevel"): ("id onHand available location { id }", 3),
    ("stock", "Store"): ("id", 0),
    ("store", "Store"): ("id code name", 2),
    ("store", "Tenant"): ("id slug name", 2),
}
# Types whose count grows with the batch today: (subgraph, type) -> the field to blame.
GROWS_WITH_BATCH: dict[tuple[str, str], str] = {}

ENTITIES_QUERY = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on %s { %s } }
}
"""


class GrowsWithBatch(AssertionError):
    """More statements for 100 representations than for 1."""


async def _count(brand: Brand, subgraph: str, kind: str, n: int) -> int:
    selection, _ = ENTITIES[(subgraph, kind)]
    ids = brand.ids[kind]
    representations = [{"__typename": kind, "id": ids[i % len(ids)]} for i in range(n)]
    query = ENTITIES_QUERY % (kind, selection)
    token = await brand.token("tenant_admin")
    path = f"/subgraphs/{subgraph}/graphql"
    variables: dict[str, Any] = {"representations": representations}
    await gql(brand.client, token, query, variables, path=path)  # warm
    with statements_sent(brand.runtime.db) as statements:
        body = await gql(brand.client, token, query, variables, path=path)
    assert "errors" not in body, body
    found = body["data"]["_entities"]
    assert len(found) == n and all(entity is not None for entity in found), found
    return len(statements)


def test_every_entity_type_of_every_subgraph_has_a_count(brand: Brand) -> None:
    declared = set()
    for name, endpoint in brand.runtime.subgraphs.items():
        union = endpoint.schema.get_type("_Entity")
        if isinstance(union, GraphQLUnionType):
            declared |= {(name, kind.name) for kind in union.types}
    assert set(ENTITIES) == declared
    assert set(GROWS_WITH_BATCH) <= set(ENTITIES)
    assert all(len(brand.ids[kind]) >= 10 for _, kind in ENTITIES if kind != "Tenant")


def _cases() -> list[Any]:
    return [
        pytest.param(
            subgraph,
            kind,
            marks=[
                pytest.mark.xfail(
                    strict=True, raises=GrowsWithBatch, reason=GROWS_WITH_BATCH[(subgraph, kind)]
                )
            ]
            if (subgraph, kind) in GROWS_WITH_BATCH
            else [],
            id=f"{subgraph}-{kind}",
        )
        for subgraph, kind in ENTITIES
    ]


@pytest.mark.parametrize(("subgraph", "kind"), _cases())
async def test_statements_per_entities_batch(brand: Brand, subgraph: str, kind: str) -> None:
    one = await _count(brand, subgraph, kind, 1)
    assert one == ENTITIES[(subgraph, kind)][1], f"{subgraph} {kind}: {one} statements for 1"
    hundred = await _count(brand, subgraph, kind, 100)
    if hundred != one:
        raise GrowsWithBatch(f"{subgraph} {kind}: {one} statements for 1, {hundred} for 100")
