"""Stock center (库存中心): levels per SKU per location, reservations, movements ledger."""
