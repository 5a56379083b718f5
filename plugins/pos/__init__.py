"""``pos``: pushes store orders to the tenant's POS and takes its status callbacks."""
