"""The outbox dispatcher: delivers ``kernel.outbox_event`` rows to every enabled plugin
and signed webhook of the event's tenant, at least once, in order per aggregate."""

from kernel.dispatch.dispatcher import Dispatcher, DispatchReport
from kernel.dispatch.webhooks import sign, verify

__all__ = ["DispatchReport", "Dispatcher", "sign", "verify"]
