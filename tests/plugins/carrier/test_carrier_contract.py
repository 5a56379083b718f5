"""carrier-rest passes the plugin contract (with its CarrierGateway part) against its
emulator."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

from centers.fulfillment.dto import TrackingEvent
from kernel.plugins.manifest import DeliveredEvent
from plugins.carrier.emulator import CarrierState, carrier_emulator
from plugins.carrier.plugin import MANIFEST
from plugins.contract import CALL_TIMEOUT, PluginContract
from plugins.emulation import LoopbackServer


class TestCarrierContract(PluginContract):
    manifest = MANIFEST
    server: LoopbackServer
    state: CarrierState

    async def start_backend(self) -> dict[str, Any]:
        self.server, self.state = carrier_emulator()
        await self.server.start()
        return {
            "base_url": self.server.url,
            "app_key": "carrier-app",
            "app_secret": "carrier-secret",
            "shop_no": "SH-001",
        }

    async def stop_backend(self) -> None:
        await self.server.stop()

    def sample_events(self, tenant_id: uuid.UUID) -> list[DeliveredEvent]:
        """Cancellations of shipments the carrier has a courier for."""
        events = []
        for _ in range(2):
            shipment_id = uuid.uuid4()
            booked = self.state.book(str(shipment_id))
            events.append(
                DeliveredEvent(
                    id=uuid.uuid4(),
                    tenant_id=tenant_id,
                    topic="fulfillment.shipment_status_changed",
                    aggregate_id=shipment_id,
                    occurred_at=datetime.now(UTC),
                    payload={
                        "shipment_id": str(shipment_id),
                        "order_id": str(uuid.uuid4()),
                        "store_id": str(uuid.uuid4()),
                        "status": "CANCELLED",
                        "pickup_code": None,
                        "carrier": "DADA",
                        "tracking_number": booked.client_id,
                    },
                )
            )
        return events

    async def backend_received(self) -> int:
        return self.state.cancellations

    def inject(self, fault: str) -> None:
        if fault == "5xx":
            self.server.faults.fail_next(1, status=500)
        else:
            self.server.faults.delay_next(1, CALL_TIMEOUT * 10)

    def carrier_publishes(self, tracking_number: str, events: list[TrackingEvent]) -> None:
        twice = events + events
        random.shuffle(twice)
        for event in twice:
            self.state.advance(
                tracking_number,
                event.description,
                event.location,
                int(event.occurred_at.timestamp()),
            )

    def carrier_bookings(self) -> int:
        return len(self.state.orders)
