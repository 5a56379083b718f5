"""Where the stock subgraph's fields live in SQL, for compiled reads (kernel.graphql.plans).

Stock owns ``Sku.stock`` on the product's SKU rows (every entity row has ``tenant_id``
and ``id``). In the composed schema that field is reached by turning the product's
``Sku`` into stock's entity, authorized with stock's entity permission; the map asks
the same questions (``allowed``) and compiles only on a clean allow.
"""

from __future__ import annotations

from collections.abc import Sequence

from centers.stock import policy
from centers.stock.graphql import subgraph
from centers.store import api as store_api
from kernel.context import RequestContext
from kernel.graphql.plans.authz import reference_allowed
from kernel.graphql.plans.maps import (
    Args,
    Composite,
    Leaf,
    OneRow,
    Param,
    SqlMap,
    TypeMap,
    WithArgs,
    id_text,
    parse_uuid,
)


def _stock_allowed(context: RequestContext, args: Args) -> bool:
    """The entity conversion's check (``schema.compose``), then the field's own
    ``authorize_at(READ_STOCK, store)`` (a malformed store id answers null, unchecked)."""
    if not reference_allowed(
        context, "Sku", subgraph.entity_permissions["Sku"], subgraph.store_narrowed_entities
    ):
        return False
    store = parse_uuid(args.get("storeId"))
    return store is None or context.allows_at(policy.READ_STOCK, store)


def _stock(placeholders: Sequence[str]) -> OneRow:
    """``level_at``: the level's row, else zero when the location is the tenant's (a
    registered location or a store; the SKU is, being the row we are on); null for
    anything else and for a malformed store id."""
    (store,) = placeholders
    known = (
        'EXISTS (SELECT 1 FROM "stock".location x WHERE x.tenant_id = {row}.tenant_id '
        f"AND x.id = {store}) OR {store_api.store_exists_sql('{row}.tenant_id', store)}"
    )
    return OneRow(
        "StockLevel",
        f"SELECT {store} AS store_id, {{row}}.id AS sku_id, coalesce(l.on_hand, 0) AS on_hand, "
        "coalesce(l.reserved, 0) AS reserved, l.low_threshold "
        'FROM (SELECT 1) one LEFT JOIN "stock".level l ON l.tenant_id = {row}.tenant_id '
        f"AND l.store_id = {store} AND l.sku_id = {{row}}.id "
        f"WHERE {store} IS NOT NULL AND (l.sku_id IS NOT NULL OR {known})",
    )


SKU = TypeMap(
    "Sku",
    {
        "stock": WithArgs(
            params=(Param("uuid", lambda args: parse_uuid(args.get("storeId"))),),
            build=_stock,
            allowed=_stock_allowed,
        )
    },
)

STOCK_LEVEL = TypeMap(
    "StockLevel",
    {
        "id": Leaf("{row}.store_id::text || '.' || {row}.sku_id::text"),
        "onHand": Leaf("{row}.on_hand"),
        "reserved": Leaf("{row}.reserved"),
        "available": Leaf("({row}.on_hand - {row}.reserved)"),
        "lowThreshold": Leaf("{row}.low_threshold"),
        "locationId": Leaf(id_text("{row}.store_id")),
        "store": Composite("Store", {"id": Leaf(id_text("{row}.store_id"))}),
        "sku": Composite("Sku", {"id": Leaf(id_text("{row}.sku_id"))}),
    },
)

SQL_MAP = SqlMap(types=(SKU, STOCK_LEVEL))
