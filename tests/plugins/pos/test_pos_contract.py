"""pos passes the plugin contract against its emulator."""

from __future__ import annotations

import uuid
from typing import Any

from kernel.plugins.manifest import DeliveredEvent
from plugins.contract import CALL_TIMEOUT, PluginContract
from plugins.emulation import LoopbackServer
from plugins.pos.emulator import PosState, pos_emulator
from plugins.pos.plugin import MANIFEST
from tests.plugins.erp.test_rest_contract import order_event


class TestPosContract(PluginContract):
    manifest = MANIFEST
    server: LoopbackServer
    state: PosState

    async def start_backend(self) -> dict[str, Any]:
        self.server, self.state = pos_emulator()
        await self.server.start()
        return {
            "base_url": self.server.url,
            "api_key": "pos-key",
            "callback_secret": "pos-callback-secret",
        }

    async def stop_backend(self) -> None:
        await self.server.stop()

    def sample_events(self, tenant_id: uuid.UUID) -> list[DeliveredEvent]:
        return [order_event(tenant_id), order_event(tenant_id)]

    async def backend_received(self) -> int:
        return len(self.state.orders)

    def inject(self, fault: str) -> None:
        if fault == "5xx":
            self.server.faults.fail_next(1, status=500)
        else:
            self.server.faults.delay_next(1, CALL_TIMEOUT * 10)
