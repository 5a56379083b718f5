"""``crm-rest``: member sync both ways with a tenant's CRM."""
