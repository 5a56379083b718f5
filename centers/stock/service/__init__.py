"""Domain logic of the stock center. Never commits."""

from centers.stock.service.flash import (
    close_flash_sale,
    flash_reserve,
    flash_units_left,
    open_flash_sale,
)
from centers.stock.service.levels import adjust, set_low_threshold, sync_level
from centers.stock.service.locations import create_warehouse, set_store_location, set_warehouse
from centers.stock.service.reservations import (
    EXPIRY_JOB,
    confirm_for_order,
    expire,
    expire_job,
    release,
    reserve,
)
from centers.stock.service.settings import get_settings, save_settings, set_product_strategy

__all__ = [
    "EXPIRY_JOB",
    "adjust",
    "close_flash_sale",
    "confirm_for_order",
    "create_warehouse",
    "expire",
    "expire_job",
    "flash_reserve",
    "flash_units_left",
    "get_settings",
    "open_flash_sale",
    "release",
    "reserve",
    "save_settings",
    "set_low_threshold",
    "set_product_strategy",
    "set_store_location",
    "set_warehouse",
    "sync_level",
]
