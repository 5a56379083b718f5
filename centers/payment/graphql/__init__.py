"""The payment subgraph: tender payments, order payments, refunds, reconciliation, and
``Order.payments`` on the order center's entity; plus the provider callback route."""

from __future__ import annotations

import strawberry

from centers.payment import completion, policy
from centers.payment.callbacks import ROUTES
from centers.payment.graphql.orders import OrderPaymentMutation, OrderPaymentQuery
from centers.payment.graphql.payments import PaymentMutation, PaymentQuery
from centers.payment.graphql.stored_value import StoredValueMutation, StoredValueQuery
from kernel.graphql.subgraph import Subgraph


@strawberry.type
class Query(PaymentQuery, OrderPaymentQuery, StoredValueQuery):
    pass


@strawberry.type
class Mutation(PaymentMutation, OrderPaymentMutation, StoredValueMutation):
    pass


subgraph = Subgraph(
    name="payment",
    schema=strawberry.federation.Schema(query=Query, mutation=Mutation),
    # Referencing an Order here reveals only its payments, so it needs what they need.
    entity_permissions={"Payment": policy.READ_PAYMENT, "Order": policy.READ_PAYMENT},
    grants=policy.GRANTS,
    store_permissions=policy.STORE_PERMISSIONS,
    # References answered only within the caller's stores (roles held at a store).
    store_narrowed_entities=frozenset({"Payment", "Order"}),
    http_routes=ROUTES,
    event_handlers=completion.EVENT_HANDLERS,
)
