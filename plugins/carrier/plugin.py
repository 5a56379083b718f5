"""``carrier-rest``: a courier / rider platform (快递 / 同城配送) as the fulfillment
center's ``CarrierGateway``, over the signed JSON API ``emulator.py`` describes.

The fulfillment center calls the port directly (``bookCourier``,
``syncShipmentTracking``); each call is one signed POST under ``context.call_timeout``:

    book_courier      POST /api/order/addOrder   origin_id = our shipment id, so a second
                      booking of the same shipment returns the first (no second courier)
    tracking_events   POST /api/order/tracks     client_id = the tracking number; "no such
                      order" (2062) is an empty history, not an error

Outbound, it also takes ``fulfillment.shipment_status_changed``: a shipment CANCELLED
before it left cancels the courier (``/api/order/formalCancel``, idempotent; an order the
carrier never had is nothing to cancel).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, Field, HttpUrl, SecretStr

from centers.fulfillment.dto import CourierBooking, CourierBookingRequest, TrackingEvent
from kernel.money import Money
from kernel.plugins.manifest import DeliveredEvent, PluginContext, PluginError, PluginManifest
from plugins.carrier.wire import NO_SUCH_ORDER, OK, envelope

CARRIER_CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
# Carriers' own words can be long; the center keeps 200 characters of a description and
# 100 of a location.
MAX_DESCRIPTION = 200
MAX_LOCATION = 100


class CarrierSettings(BaseModel):
    base_url: HttpUrl = Field(description="Root of the carrier's open API.")
    app_key: str = Field(min_length=1, max_length=128, description="The merchant's app key.")
    app_secret: SecretStr = Field(description="The app secret requests are signed with.")
    shop_no: str = Field(
        min_length=1, max_length=64, description="The carrier's shop number for our stores."
    )
    store_shops: dict[str, str] = Field(
        default_factory=dict,
        description="Our store id → the carrier's shop number, where a store has its own.",
    )
    carrier_code: str = Field(
        default="DADA",
        pattern=CARRIER_CODE,
        description="The carrier code shipments booked here show (e.g. DADA, SF).",
    )
    cancel_on_shipment_cancelled: bool = Field(
        default=True, description="Cancel the courier when a booked shipment is cancelled."
    )


class CarrierPlugin:
    """One tenant's merchant account at the carrier."""

    def __init__(self, context: PluginContext) -> None:
        settings = context.settings
        assert isinstance(settings, CarrierSettings)
        self.settings = settings
        self.client = httpx.AsyncClient(
            base_url=str(settings.base_url).rstrip("/"), timeout=context.call_timeout
        )

    async def _call(self, path: str, payload: dict[str, Any]) -> tuple[int, Any]:
        """(business code, result) of one signed request; raises ``PluginError`` when the
        carrier is unreachable, in trouble (5xx) or answers garbage."""
        secret = self.settings.app_secret.get_secret_value()
        try:
            response = await self.client.post(
                path, json=envelope(self.settings.app_key, secret, payload)
            )
        except httpx.HTTPError as error:
            raise PluginError(f"carrier unreachable: {type(error).__name__}") from None
        if response.status_code >= 300:
            raise PluginError(f"carrier answered HTTP {response.status_code} to {path}")
        try:
            answer = response.json()
            code, message = int(answer["code"]), str(answer.get("msg", ""))
        except (ValueError, KeyError, TypeError):
            raise PluginError(f"carrier sent a malformed answer to {path}") from None
        if code not in (OK, NO_SUCH_ORDER):
            raise PluginError(f"carrier refused {path}: {code} {message}"[:300])
        return code, answer.get("result")

    async def book_courier(self, request: CourierBookingRequest) -> CourierBooking:
        store = str(request.store_id)
        payload = {
            "shop_no": self.settings.store_shops.get(store, self.settings.shop_no),
            "origin_id": str(request.shipment_id),
            "receiver_name": request.receiver_name,
            "receiver_phone": request.receiver_phone,
            "receiver_address": request.receiver_address,
            "ready_at": int(request.ready_at.timestamp()) if request.ready_at else None,
        }
        code, result = await self._call("/api/order/addOrder", payload)
        if code != OK or not isinstance(result, dict):
            raise PluginError("carrier sent no booking")
        try:
            if result["origin_id"] != str(request.shipment_id):
                raise PluginError("carrier answered for another shipment")
            number = str(result["client_id"])
            fee = result.get("fee")
            pickup = result.get("estimated_pickup_time")
            return CourierBooking(
                carrier=self.settings.carrier_code,
                tracking_number=number,
                fee=Money(int(fee), str(result.get("currency", "CNY")))
                if fee is not None
                else None,
                estimated_pickup_at=datetime.fromtimestamp(int(pickup), UTC) if pickup else None,
            )
        except (KeyError, TypeError, ValueError):
            raise PluginError("carrier sent a malformed booking") from None

    async def tracking_events(self, tracking_number: str) -> Sequence[TrackingEvent]:
        code, result = await self._call("/api/order/tracks", {"client_id": tracking_number})
        if code == NO_SUCH_ORDER:
            return []  # not published yet (or never booked): no history
        try:
            tracks = result["tracks"]
            found = {
                (int(t["time"]), str(t["desc"]).strip()[:MAX_DESCRIPTION]): (
                    str(t["location"])[:MAX_LOCATION] if t.get("location") else None
                )
                for t in tracks
            }
        except (KeyError, TypeError, ValueError):
            raise PluginError("carrier sent malformed tracks") from None
        # The carrier repeats and reorders tracks; the port promises each once, oldest first.
        return [
            TrackingEvent(datetime.fromtimestamp(at, UTC), desc, location)
            for (at, desc), location in sorted(found.items())
            if desc
        ]

    async def handle_event(self, event: DeliveredEvent) -> None:
        payload = event.payload
        if (
            event.topic != "fulfillment.shipment_status_changed"
            or payload.get("status") != "CANCELLED"
            or not payload.get("tracking_number")
            or payload.get("carrier") != self.settings.carrier_code
            or not self.settings.cancel_on_shipment_cancelled
        ):
            return
        # Idempotent at the carrier: cancelling a cancelled order changes nothing, and an
        # order it never had (2062) is nothing to cancel.
        await self._call(
            "/api/order/formalCancel",
            {"origin_id": str(payload["shipment_id"]), "reason": "shipment cancelled"},
        )

    async def check_health(self) -> None:
        await self._call("/api/merchant/ping", {})

    async def aclose(self) -> None:
        await self.client.aclose()


MANIFEST = PluginManifest(
    name="carrier-rest",
    version="1.0.0",
    title="Courier / rider platform",
    description="Books couriers for shipments (by shipment id, once), reads their "
    "tracking events, and cancels the courier when a booked shipment is cancelled.",
    ports=("fulfillment.CarrierGateway",),
    settings_model=CarrierSettings,
    factory=CarrierPlugin,
    topics=("fulfillment.shipment_status_changed",),
)
