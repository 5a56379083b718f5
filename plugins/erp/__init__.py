"""ERP adapters: a generic REST ERP (``erp-rest``) and Odoo over JSON-RPC (``erp-odoo``)."""
