"""erp-rest passes the plugin contract against its emulator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from kernel.plugins.manifest import DeliveredEvent
from plugins.contract import CALL_TIMEOUT, PluginContract
from plugins.emulation import LoopbackServer
from plugins.erp.rest import MANIFEST
from plugins.erp.rest_emulator import ErpState, erp_emulator


def order_event(
    tenant_id: uuid.UUID, topic: str = "order.placed", order_id: uuid.UUID | None = None
) -> DeliveredEvent:
    order = order_id or uuid.uuid4()
    payload: dict[str, Any] = {
        "order_id": str(order),
        "number": "2611250000000001",
        "store_id": str(uuid.uuid4()),
        "buyer_subject": "user:alice",
        "currency": "CNY",
        "total_amount": 2500,
        "lines": [
            {
                "sku_id": str(uuid.uuid4()),
                "quantity": 1,
                "unit_price_amount": 2500,
                "line_amount": 2500,
            }
        ],
    }
    if topic == "order.cancelled":
        payload = {
            "order_id": str(order),
            "number": "2611250000000001",
            "reason": "buyer",
            "cancelled_by": "user:alice",
        }
    return DeliveredEvent(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        topic=topic,
        aggregate_id=order,
        occurred_at=datetime.now(UTC),
        payload=payload,
    )


class TestErpRestContract(PluginContract):
    manifest = MANIFEST
    server: LoopbackServer
    state: ErpState

    async def start_backend(self) -> dict[str, Any]:
        self.server, self.state = erp_emulator(api_key="erp-key")
        await self.server.start()
        return {"base_url": self.server.url, "api_key": "erp-key"}

    async def stop_backend(self) -> None:
        await self.server.stop()

    def sample_events(self, tenant_id: uuid.UUID) -> list[DeliveredEvent]:
        return [order_event(tenant_id), order_event(tenant_id)]

    async def backend_received(self) -> int:
        return len(self.state.orders)

    def inject(self, fault: str) -> None:
        if fault == "5xx":
            self.server.faults.fail_next(1, status=502)
        else:
            self.server.faults.delay_next(1, CALL_TIMEOUT * 10)
