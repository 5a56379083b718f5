"""The nine center subgraphs and the kernel's access subgraph, in a fixed order (the order decides nothing but print order)."""

from __future__ import annotations

from functools import lru_cache

from graphql import GraphQLSchema, lexicographic_sort_schema, print_schema

from centers.fulfillment.graphql import subgraph as fulfillment
from centers.member.graphql import subgraph as member
from centers.order.graphql import subgraph as order
from centers.order.graphql.sql_map import SQL_MAP as ORDER_SQL
from centers.payment.graphql import subgraph as payment
from centers.payment.graphql.sql_map import SQL_MAP as PAYMENT_SQL
from centers.points.graphql import subgraph as points
from centers.product.graphql import subgraph as product
from centers.product.graphql.sql_map import SQL_MAP as PRODUCT_SQL
from centers.promotion.graphql import subgraph as promotion
from centers.stock.graphql import subgraph as stock
from centers.stock.graphql.sql_map import SQL_MAP as STOCK_SQL
from centers.store import api as store_api
from centers.store.graphql import subgraph as store
from kernel.app import ServedApi
from kernel.authz.admin.graphql import build_subgraph as build_access_subgraph
from kernel.authz.permissions import merge_grants
from kernel.authz.stores import StorePermissions, merge_store_permissions
from kernel.graphql.subgraph import Subgraph
from kernel.jobs import JobHandler
from kernel.outbox import install_event_handlers
from schema.compose import compose, subgraph_schemas

SUBGRAPHS: tuple[Subgraph, ...] = (
    store,
    product,
    stock,
    order,
    promotion,
    member,
    points,
    payment,
    fulfillment,
    # The kernel's access administration; tenants come from the store center.
    build_access_subgraph(store_api),
)

# Where each center's types live in SQL: known reads compile (kernel.graphql.plans).
SQL_MAPS = (PRODUCT_SQL, STOCK_SQL, ORDER_SQL, PAYMENT_SQL)

install_event_handlers([s.event_handlers for s in SUBGRAPHS])


@lru_cache(maxsize=1)
def composed_schema() -> GraphQLSchema:
    return compose(SUBGRAPHS)


def served_api() -> ServedApi:
    return ServedApi(
        composed=composed_schema(),
        subgraphs=subgraph_schemas(SUBGRAPHS),
        grants=merge_grants([s.grants for s in SUBGRAPHS]),
        job_handlers=_job_handlers(),
        routes=tuple(route for s in SUBGRAPHS for route in s.http_routes),
        store_permissions=store_permissions(),
        sql_maps=SQL_MAPS,
    )


def store_permissions() -> StorePermissions:
    """What a role held at a store conveys, from every center's ``policy.py``."""
    return merge_store_permissions(s.store_permissions for s in SUBGRAPHS)


def _job_handlers() -> dict[str, JobHandler]:
    handlers: dict[str, JobHandler] = {}
    for subgraph in SUBGRAPHS:
        for kind, handler in subgraph.job_handlers.items():
            if kind in handlers:
                raise RuntimeError(f"job kind {kind!r} is handled twice")
            handlers[kind] = handler
    return handlers


def subgraph_sdls() -> dict[str, str]:
    return {s.name: s.sdl() for s in SUBGRAPHS}


def composed_sdl() -> str:
    return print_schema(lexicographic_sort_schema(composed_schema()))
