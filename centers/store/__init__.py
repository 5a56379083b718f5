"""Store center (门店): tenants (brands) and their stores. The reference center."""
