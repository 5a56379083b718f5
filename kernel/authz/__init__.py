"""Casbin authorization: RBAC with tenants as domains, deny-override, deny by default."""
