"""channel-takeout passes the plugin contract against its emulator (its outbound status
sync needs the order center, so it is tested end to end in test_channels.py)."""

from __future__ import annotations

import uuid
from typing import Any

from kernel.plugins.manifest import DeliveredEvent
from plugins.channels.emulator import PlatformState, platform_emulator
from plugins.channels.plugin import MANIFEST
from plugins.contract import CALL_TIMEOUT, PluginContract
from plugins.emulation import LoopbackServer


class TestChannelContract(PluginContract):
    manifest = MANIFEST
    server: LoopbackServer
    state: PlatformState

    async def start_backend(self) -> dict[str, Any]:
        self.server, self.state = platform_emulator()
        await self.server.start()
        return {"base_url": self.server.url, "app_id": "zt-app", "app_secret": "platform-secret"}

    async def stop_backend(self) -> None:
        await self.server.stop()

    def sample_events(self, tenant_id: uuid.UUID) -> list[DeliveredEvent]:
        return []

    async def backend_received(self) -> int:
        return len(self.state.seen_events)

    def inject(self, fault: str) -> None:
        if fault == "5xx":
            self.server.faults.fail_next(1, status=503)
        else:
            self.server.faults.delay_next(1, CALL_TIMEOUT * 10)
