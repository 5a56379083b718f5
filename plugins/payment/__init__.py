"""Payment provider adapters (the payment center's ``ports.PaymentProvider``)."""
