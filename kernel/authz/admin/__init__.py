"""The access subgraph: roles, grants, assignments, API keys, audit log, tenants."""
