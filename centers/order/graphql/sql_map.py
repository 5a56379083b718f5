"""Where the order subgraph's types live in SQL, for compiled reads (kernel.graphql.plans).

Each entry answers exactly what the resolver in ``types.py``/``queries.py`` answers
(tests/centers/order/test_compiled_reads.py runs both paths over random orders and
callers). Fields not listed (``availableEvents``, ``afterSales``, ``groupBuy``, a line's
derived ``id``…) send a document that selects them down the generic path.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

from centers.order.graphql.types import visible_orders
from centers.order.machine import MACHINES
from kernel.context import RequestContext
from kernel.errors import UserInputError
from kernel.graphql.ids import parse_id
from kernel.graphql.plans.maps import (
    Args,
    Binder,
    Composite,
    ConnectionRoot,
    Filters,
    Leaf,
    ObjectRoot,
    Rows,
    SqlMap,
    TypeMap,
    id_text,
    iso_timestamp,
    money,
    parse_uuid,
)

TRADE_ORDER = '"order".trade_order'
# Child rows carry the order's currency: amounts are stored as minor units, the
# currency once, on the order.
_LINES = '(SELECT l.*, {row}.currency FROM "order".order_line l)'
_SUB_ORDERS = '(SELECT s.*, {row}.currency FROM "order".sub_order s)'
_DISCOUNTS = '(SELECT d.*, {row}.currency FROM "order".order_line_discount d)'


def _status_view(audience: str) -> Leaf:
    """``machine_for(type).views[status].<audience>`` as a CASE over the machines' data."""
    cases = " ".join(
        f"WHEN '{order_type}/{status}' THEN '{getattr(view, audience)}'"
        for order_type, machine in MACHINES.items()
        for status, view in machine.views.items()
    )
    return Leaf(f"(CASE {{row}}.order_type || '/' || {{row}}.status {cases} END)")


def _line_fields() -> dict[str, Any]:
    return {
        "lineNo": Leaf("{row}.line_no"),
        "subOrderNo": Leaf("{row}.sub_no"),
        "skuCode": Leaf("{row}.sku_code"),
        "skuName": Leaf("{row}.sku_name"),
        "unitPrice": money("{row}.unit_price_amount"),
        "quantity": Leaf("{row}.quantity"),
        "amount": money("{row}.line_amount"),
        "discount": money("{row}.discount_amount"),
        "payable": money("{row}.payable_amount"),
        "refunded": money("{row}.refunded_amount"),
        "sku": Composite("Sku", {"id": Leaf(id_text("{row}.sku_id"))}),
        "discounts": Rows(
            "LineDiscount",
            _DISCOUNTS,
            "{child}.tenant_id = {row}.tenant_id AND {child}.order_id = {row}.order_id "
            "AND {child}.line_no = {row}.line_no",
            "{child}.seq",
        ),
    }


ORDER = TypeMap(
    "Order",
    {
        "id": Leaf(id_text("{row}.id")),
        "number": Leaf("{row}.number"),
        "type": Leaf("{row}.order_type"),
        "channel": Leaf("{row}.channel"),
        "status": Leaf("{row}.status"),
        "total": money("{row}.total_amount"),
        "listAmount": money("{row}.list_amount"),
        "discount": money("{row}.discount_amount"),
        "deliveryFee": money("{row}.delivery_fee"),
        "payable": money("{row}.total_amount"),
        "deposit": money("{row}.deposit_amount"),
        "paid": money("{row}.paid_amount"),
        "refunded": money("{row}.refunded_amount"),
        "pickupCode": Leaf("{row}.pickup_code"),
        "placedAt": Leaf(iso_timestamp("{row}.placed_at")),
        "statusChangedAt": Leaf(iso_timestamp("{row}.status_changed_at")),
        "cancelledAt": Leaf(iso_timestamp("{row}.cancelled_at")),
        "cancelReason": Leaf("{row}.cancel_reason"),
        "statusViews": Composite(
            "OrderStatusViews",
            {a: _status_view(a) for a in ("buyer", "merchant", "erp")},
        ),
        "store": Composite("Store", {"id": Leaf(id_text("{row}.store_id"))}),
        "lines": Rows(
            "OrderLine",
            _LINES,
            "{child}.tenant_id = {row}.tenant_id AND {child}.order_id = {row}.id",
            "{child}.line_no",
        ),
        "subOrders": Rows(
            "SubOrder",
            _SUB_ORDERS,
            "{child}.tenant_id = {row}.tenant_id AND {child}.order_id = {row}.id",
            "{child}.sub_no",
        ),
        "history": Rows(
            "OrderHistoryEntry",
            '"order".order_history',
            "{child}.tenant_id = {row}.tenant_id AND {child}.order_id = {row}.id",
            "{child}.seq",
        ),
    },
)

ORDER_LINE = TypeMap("OrderLine", _line_fields())

SUB_ORDER_LINES = Rows(
    "OrderLine",
    '(SELECT l.*, {row}.currency FROM "order".order_line l)',
    "{child}.tenant_id = {row}.tenant_id AND {child}.order_id = {row}.order_id "
    "AND {child}.sub_no = {row}.sub_no",
    "{child}.line_no",
)

SUB_ORDER = TypeMap(
    "SubOrder",
    {
        "subOrderNo": Leaf("{row}.sub_no"),
        "splitKey": Leaf("{row}.split_key"),
        "listAmount": money("{row}.list_amount"),
        "discount": money("{row}.discount_amount"),
        "deliveryFee": money("{row}.delivery_fee"),
        "payable": money("{row}.payable_amount"),
        "refunded": money("{row}.refunded_amount"),
        "store": Composite("Store", {"id": Leaf(id_text("{row}.store_id"))}),
        "lines": SUB_ORDER_LINES,
    },
)

LINE_DISCOUNT = TypeMap(
    "LineDiscount",
    {
        "source": Leaf("{row}.source"),
        "sourceId": Leaf(id_text("{row}.source_id")),
        "label": Leaf("{row}.label"),
        "amount": money("{row}.amount"),
    },
)

HISTORY_ENTRY = TypeMap(
    "OrderHistoryEntry",
    {
        "at": Leaf(iso_timestamp("{row}.at")),
        "actor": Leaf("{row}.actor"),
        "event": Leaf("{row}.event"),
        "fromStatus": Leaf("{row}.from_status"),
        "toStatus": Leaf("{row}.to_status"),
        "reason": Leaf("{row}.reason"),
    },
)


def _reach(context: RequestContext, bind: Binder) -> tuple[list[str], bool]:
    """``visible_orders`` as conditions; also whether it reaches some stores (staff)."""
    reach = visible_orders(context)
    if not isinstance(reach.stores, frozenset):
        return [], True
    parts = []
    if reach.stores:
        parts.append(f"{{row}}.store_id = ANY({bind(sorted(reach.stores), 'uuid[]')})")
    if reach.buyer is not None:  # placed by the caller, or for the caller's membership
        buyer = bind(reach.buyer, "text")
        parts.append(f"{{row}}.buyer_subject = {buyer}")
        parts.append(f"{{row}}.member_subject = {buyer}")
    return ["(" + " OR ".join(parts) + ")" if parts else "false"], bool(reach.stores)


def _text(value: object) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


def _orders_scope(context: RequestContext, args: Args, bind: Binder) -> Filters | None:
    """``Query.orders``: the caller's reach, then the filter arguments."""
    conditions, staff = _reach(context, bind)
    buyer = args.get("buyer")
    if buyer is not None and staff:  # a customer's own orders are their whole view
        conditions.append(f"{{row}}.buyer_subject = {bind(str(buyer), 'text')}")
    store = args.get("storeId")
    if store is not None:
        try:
            store_id: uuid.UUID = parse_id(store, ["storeId"])
        except UserInputError:
            return None
        conditions.append(f"{{row}}.store_id = {bind(store_id, 'uuid')}")
    statuses = args.get("status")
    if statuses:
        values = [_text(s) for s in statuses]
        conditions.append(f"{{row}}.status = ANY({bind(values, 'text[]')})")
    order_type = args.get("type")
    if order_type is not None:
        conditions.append(f"{{row}}.order_type = {bind(_text(order_type), 'text')}")
    channel = args.get("channel")
    if channel is not None:
        conditions.append(f"{{row}}.channel = {bind(channel, 'text')}")
    for name, operator in (("placedFrom", ">="), ("placedBefore", "<")):
        moment = args.get(name)
        if moment is not None:
            if not isinstance(moment, datetime):
                return None
            conditions.append(f"{{row}}.placed_at {operator} {bind(moment, 'timestamptz')}")
    return Filters(conditions)


def _order_scope(context: RequestContext, args: Args, bind: Binder) -> Filters | None:
    """``Query.order(id:)``: one order within the caller's reach (a malformed id: null)."""
    conditions, _ = _reach(context, bind)
    order_id = parse_uuid(args.get("id"))
    conditions.append("false" if order_id is None else f"{{row}}.id = {bind(order_id, 'uuid')}")
    return Filters(conditions)


def _by_number_scope(context: RequestContext, args: Args, bind: Binder) -> Filters | None:
    conditions, _ = _reach(context, bind)
    conditions.append(f"{{row}}.number = {bind(str(args['number']), 'text')}")
    return Filters(conditions)


SQL_MAP = SqlMap(
    types=(ORDER, ORDER_LINE, SUB_ORDER, LINE_DISCOUNT, HISTORY_ENTRY),
    roots={
        "orders": ConnectionRoot("Order", TRADE_ORDER, _orders_scope),
        "order": ObjectRoot("Order", TRADE_ORDER, _order_scope),
        "orderByNumber": ObjectRoot("Order", TRADE_ORDER, _by_number_scope),
    },
)
