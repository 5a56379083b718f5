"""Points center (积分): an append-only ledger of points per member, and balances."""
