"""Domain logic of the fulfillment center. Never commits; raises ``UserInputError`` on bad input."""

from centers.fulfillment.service.courier import Receiver, TrackingSync, book_courier, sync_tracking
from centers.fulfillment.service.dispatch import from_json, plan
from centers.fulfillment.service.pickup_points import create_pickup_point
from centers.fulfillment.service.shipments import (
    assign_carrier,
    create_shipment,
    merge,
    new_pickup_code,
    set_status,
    split,
    update_rider,
)
from centers.fulfillment.service.tracking import import_tracking_csv, record_events

__all__ = [
    "Receiver",
    "TrackingSync",
    "assign_carrier",
    "book_courier",
    "create_pickup_point",
    "create_shipment",
    "from_json",
    "import_tracking_csv",
    "merge",
    "new_pickup_code",
    "plan",
    "record_events",
    "set_status",
    "split",
    "sync_tracking",
    "update_rider",
]
