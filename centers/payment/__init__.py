"""Payment center (支付): payments (支付单) in several tenders, provider callbacks, refunds."""
