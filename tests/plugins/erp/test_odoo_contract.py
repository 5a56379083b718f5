"""erp-odoo passes the plugin contract against its JSON-RPC emulator."""

from __future__ import annotations

import uuid
from typing import Any

from kernel.plugins.manifest import DeliveredEvent
from plugins.contract import CALL_TIMEOUT, PluginContract
from plugins.emulation import LoopbackServer
from plugins.erp.odoo import MANIFEST
from plugins.erp.odoo_emulator import OdooState, odoo_emulator
from tests.plugins.erp.test_rest_contract import order_event


class TestOdooContract(PluginContract):
    manifest = MANIFEST
    server: LoopbackServer
    state: OdooState

    async def start_backend(self) -> dict[str, Any]:
        self.server, self.state = odoo_emulator()
        await self.server.start()
        return {
            "base_url": self.server.url,
            "database": "brand",
            "login": "zhongtai",
            "api_key": "odoo-key",
            "partner_id": 7,
        }

    async def stop_backend(self) -> None:
        await self.server.stop()

    def sample_events(self, tenant_id: uuid.UUID) -> list[DeliveredEvent]:
        return [order_event(tenant_id), order_event(tenant_id)]

    async def backend_received(self) -> int:
        return len(self.state.sale_orders())

    def inject(self, fault: str) -> None:
        if fault == "5xx":
            self.server.faults.fail_next(1, status=502)
        else:
            self.server.faults.delay_next(1, CALL_TIMEOUT * 10)
