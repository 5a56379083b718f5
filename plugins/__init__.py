"""Reference plugins: adapters to a tenant's ERP, CRM, POS and takeout channels.

Each adapter ships with an emulator of its backend (a real HTTP server on loopback
speaking that backend's wire protocol, with its failure modes) and is tested with the
contract suite in ``kernel.plugins.contract``. See ``docs/plugins.md``.
"""
