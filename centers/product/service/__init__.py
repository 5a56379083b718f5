"""Domain logic of the product center. Never commits."""

from centers.product.service.catalog import (
    create_category,
    member_pricing,
    pick_price,
    quote,
    search,
    set_listing,
    set_member_pricing,
    set_sku_price,
)
from centers.product.service.csv_import import import_rows, merge_reports, read_csv
from centers.product.service.products import create_product, update_product, upsert_product

__all__ = [
    "create_category",
    "create_product",
    "import_rows",
    "member_pricing",
    "merge_reports",
    "pick_price",
    "quote",
    "read_csv",
    "search",
    "set_listing",
    "set_member_pricing",
    "set_sku_price",
    "update_product",
    "upsert_product",
]
