"""Every query of the stock center; tenant scoping lives here and only here.

Rows are always locked in SKU order (``ORDER BY sku_id FOR UPDATE``) before they
change, so concurrent orders that share SKUs queue instead of deadlocking.
"""

from centers.stock.repository.flash import (
    bucket_totals,
    claim_bucket,
    close_buckets,
    open_buckets,
    return_to_bucket,
)
from centers.stock.repository.levels import (
    Changed,
    HeldLine,
    Outcome,
    Wanted,
    apply_change,
    available_at_in,
    delete_reservation,
    ensure_level,
    levels_by_keys,
    levels_by_skus,
    list_levels,
    list_movements,
    lock_level,
    lock_order_reservations,
    reserve_all,
    set_low_threshold,
    set_reservation_status,
    set_source_version,
)
from centers.stock.repository.locations import (
    insert_location,
    list_locations,
    location_exists,
    locations_by_ids,
    update_location,
)
from centers.stock.repository.settings import (
    product_strategies,
    save_settings,
    set_product_strategy,
    tenant_settings,
)

__all__ = [
    "Changed",
    "HeldLine",
    "Outcome",
    "Wanted",
    "apply_change",
    "available_at_in",
    "bucket_totals",
    "claim_bucket",
    "close_buckets",
    "delete_reservation",
    "ensure_level",
    "insert_location",
    "levels_by_keys",
    "levels_by_skus",
    "list_levels",
    "list_locations",
    "list_movements",
    "location_exists",
    "locations_by_ids",
    "lock_level",
    "lock_order_reservations",
    "open_buckets",
    "product_strategies",
    "reserve_all",
    "return_to_bucket",
    "save_settings",
    "set_low_threshold",
    "set_product_strategy",
    "set_reservation_status",
    "set_source_version",
    "tenant_settings",
    "update_location",
]
