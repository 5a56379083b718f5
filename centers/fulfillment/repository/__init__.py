"""Every query of the fulfillment center; tenant scoping lives here and only here."""

from centers.fulfillment.repository.places import (
    dispatches_by_orders,
    insert_pickup_point,
    list_pickup_points,
    pickup_points_by_ids,
    save_dispatch,
)
from centers.fulfillment.repository.shipments import (
    insert_lines,
    insert_shipment,
    lines_of,
    lock_shipments,
    numbered,
    replace_lines,
    shipment_stores,
    shipments_by_ids,
    shipments_by_order_ids,
    update_shipment,
)
from centers.fulfillment.repository.tracking import events_of, insert_events

__all__ = [
    "dispatches_by_orders",
    "events_of",
    "insert_events",
    "insert_lines",
    "insert_pickup_point",
    "insert_shipment",
    "lines_of",
    "list_pickup_points",
    "lock_shipments",
    "numbered",
    "pickup_points_by_ids",
    "replace_lines",
    "save_dispatch",
    "shipment_stores",
    "shipments_by_ids",
    "shipments_by_order_ids",
    "update_shipment",
]
