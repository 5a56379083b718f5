"""Where the payment subgraph's fields live in SQL, for compiled reads (kernel.graphql.plans).

Payment owns ``Order.payments`` on the order center's rows. In the composed schema the
field is reached by turning the order into payment's entity: ``authorize_at`` the
order's store, then ``Order.resolve_reference`` (the order exists, and is at the
caller's stores for a role held there). Only a tenant-wide ``READ_PAYMENT`` passes both
for every order whatever its store, so only that compiles; anything else answers
through the generic path.
"""

from __future__ import annotations

from collections.abc import Sequence

from centers.payment import policy
from kernel.context import RequestContext
from kernel.graphql.plans.maps import (
    Args,
    Composite,
    Leaf,
    Rows,
    SqlMap,
    TypeMap,
    WithArgs,
    id_text,
    iso_timestamp,
    money,
)


def _tenant_wide(context: RequestContext, args: Args) -> bool:
    return context.allows(policy.READ_PAYMENT)


def _payments(placeholders: Sequence[str]) -> Rows:
    """``payments_by_order_ids``: oldest first (UUIDv7 ids)."""
    return Rows(
        "Payment",
        '"payment".payment',
        "{child}.tenant_id = {row}.tenant_id AND {child}.order_id = {row}.id",
        "{child}.id",
    )


ORDER = TypeMap("Order", {"payments": WithArgs((), _payments, _tenant_wide)})

PAYMENT = TypeMap(
    "Payment",
    {
        "id": Leaf(id_text("{row}.id")),
        "order": Composite("Order", {"id": Leaf(id_text("{row}.order_id"))}),
        "tender": Leaf("{row}.tender"),
        # bigint: beyond GraphQL's Int the cast fails and the generic path answers
        # its error, as it would have.
        "amount": money("({row}.amount)::int4"),
        "status": Leaf("{row}.status"),
        "providerReference": Leaf("{row}.provider_reference"),
        "createdAt": Leaf(iso_timestamp("{row}.created_at")),
    },
)

SQL_MAP = SqlMap(types=(ORDER, PAYMENT))
