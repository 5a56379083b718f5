"""crm-rest passes the plugin contract against its emulator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from kernel.plugins.manifest import DeliveredEvent
from plugins.contract import CALL_TIMEOUT, PluginContract
from plugins.crm.emulator import CrmState, crm_emulator
from plugins.crm.plugin import MANIFEST
from plugins.emulation import LoopbackServer


def member_event(tenant_id: uuid.UUID) -> DeliveredEvent:
    member_id = uuid.uuid4()
    return DeliveredEvent(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        topic="member.registered",
        aggregate_id=member_id,
        occurred_at=datetime.now(UTC),
        payload={"member_id": str(member_id), "phone": "13800000000", "display_name": "Li"},
    )


class TestCrmContract(PluginContract):
    manifest = MANIFEST
    server: LoopbackServer
    state: CrmState

    async def start_backend(self) -> dict[str, Any]:
        self.server, self.state = crm_emulator()
        await self.server.start()
        return {"base_url": self.server.url, "api_key": "crm-key"}

    async def stop_backend(self) -> None:
        await self.server.stop()

    def sample_events(self, tenant_id: uuid.UUID) -> list[DeliveredEvent]:
        return [member_event(tenant_id), member_event(tenant_id)]

    async def backend_received(self) -> int:
        return len(self.state.members)

    def inject(self, fault: str) -> None:
        if fault == "5xx":
            self.server.faults.fail_next(1, status=500)
        else:
            self.server.faults.delay_next(1, CALL_TIMEOUT * 10)
