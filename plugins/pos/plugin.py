"""``pos``: the store POS (收银/厨房) as a backend.

Outbound: ``order.placed`` → ``POST /pos/v1/orders``, ``order.cancelled`` →
``POST /pos/v1/orders/{id}/cancel``, idempotent by ``Idempotency-Key`` (the event id).

Inbound: the POS calls ``POST /hooks/store/plugins/pos/<tenant id>`` with
``{"order_id", "status"}`` (``accepted``, ``preparing``, ``ready``, ``completed``),
signed ``X-Pos-Timestamp`` / ``X-Pos-Signature`` (``plugins.signing``). Each status
moves the order through its state machine (``order.api.apply_event``). Callbacks may
repeat or arrive out of order: a status the order already passed is acknowledged and
ignored; a status ahead of the order applies the steps in between first (``ready``
before ``accepted`` accepts, then marks ready).
"""

from __future__ import annotations

import json
import uuid

import httpx
from pydantic import BaseModel, Field, HttpUrl, SecretStr

from centers.order import api as order_api
from kernel.dispatch.inbound import Inbound
from kernel.errors import UserInputError
from kernel.plugins.manifest import (
    CallbackRequest,
    CallbackResponse,
    DeliveredEvent,
    PluginContext,
    PluginError,
    PluginManifest,
)
from plugins import signing

# How far along the kitchen flow each order status is.
RANK = {
    "PAID": 0,
    "ACCEPTED": 1,
    "PREPARING": 2,
    "READY": 3,
    "SERVED": 4,
    "PICKED_UP": 4,
    "DELIVERING": 4,
    "DELIVERED": 4,
}
TARGET = {"accepted": 1, "preparing": 2, "ready": 3, "completed": 4}
COMPLETE_EVENT = {"DINE_IN": "SERVE", "TAKEOUT": "PICK_UP"}


class PosSettings(BaseModel):
    base_url: HttpUrl = Field(description="Root of the POS cloud API.")
    api_key: SecretStr = Field(description="Bearer token for the POS API.")
    callback_secret: SecretStr = Field(description="Secret the POS signs its callbacks with.")


def steps(order_type: str, current: str, status: str) -> list[str] | None:
    """The state-machine events that take an order from ``current`` to the POS
    ``status``: ``[]`` when it is already there or past it, ``None`` when the order is
    not in the kitchen flow (unpaid, cancelled, another type)."""
    if current not in RANK or status not in TARGET:
        return None
    have, want = RANK[current], TARGET[status]
    if want <= have:
        return []
    events: list[str] = []
    if have == 0:
        events.append("ACCEPT")
    if want == 2:
        events.append("START_PREPARING")
    if want >= 3 and have < 3:
        events.append("MARK_READY")  # allowed from ACCEPTED or PREPARING
    if want == 4:
        complete = COMPLETE_EVENT.get(order_type)
        if complete is None:
            return None
        events.append(complete)
    return events


class PosPlugin:
    def __init__(self, context: PluginContext) -> None:
        settings = context.settings
        assert isinstance(settings, PosSettings)
        self.settings = settings
        self.client = httpx.AsyncClient(
            base_url=str(settings.base_url).rstrip("/") + "/pos/v1",
            headers={"authorization": f"Bearer {settings.api_key.get_secret_value()}"},
            timeout=context.call_timeout,
        )

    async def _post(self, path: str, event: DeliveredEvent) -> None:
        try:
            response = await self.client.post(
                path, json=event.as_json(), headers={"idempotency-key": str(event.id)}
            )
        except httpx.HTTPError as error:
            raise PluginError(f"POS unreachable: {type(error).__name__}") from None
        if response.status_code >= 300:
            raise PluginError(f"POS answered HTTP {response.status_code} to POST {path}")

    async def handle_event(self, event: DeliveredEvent) -> None:
        if event.topic == "order.placed":
            await self._post("/orders", event)
        elif event.topic == "order.cancelled":
            await self._post(f"/orders/{event.payload['order_id']}/cancel", event)

    async def handle_callback(self, request: CallbackRequest, inbound: Inbound) -> CallbackResponse:
        if not signing.verify(
            self.settings.callback_secret.get_secret_value(),
            request.headers.get("x-pos-timestamp", ""),
            request.headers.get("x-pos-signature", ""),
            request.body,
        ):
            return CallbackResponse(401, {"error": "bad signature"})
        try:
            message = json.loads(request.body)
            order_id = uuid.UUID(str(message["order_id"]))
            status = str(message["status"])
        except (ValueError, KeyError, TypeError):
            return CallbackResponse(400, {"error": "expected {order_id, status}"})
        if status not in TARGET:
            return CallbackResponse(400, {"error": f"unknown status {status!r}"})
        async with inbound.transaction() as session:
            order = await order_api.get_order(session, inbound.tenant_id, order_id)
            if order is None:
                return CallbackResponse(404, {"error": "unknown order"})
            todo = steps(order.order_type, order.status, status)
            if todo is None:
                return CallbackResponse(
                    409, {"error": f"order is {order.status}, not in the kitchen flow"}
                )
            try:
                for name in todo:
                    await order_api.apply_event(
                        session,
                        inbound.tenant_id,
                        order_id,
                        name,
                        "sa:plugin-pos",
                        f"POS status {status}",
                        f"pos:{order_id}:{name}",
                    )
            except UserInputError as error:
                return CallbackResponse(409, {"error": error.message, "code": error.code})
        return CallbackResponse(200, {"ok": True, "applied": todo})

    async def check_health(self) -> None:
        try:
            response = await self.client.get("/ping")
        except httpx.HTTPError as error:
            raise PluginError(f"POS unreachable: {type(error).__name__}") from None
        if response.status_code != 200:
            raise PluginError(f"POS ping answered HTTP {response.status_code}")

    async def aclose(self) -> None:
        await self.client.aclose()


MANIFEST = PluginManifest(
    name="pos",
    version="1.0.0",
    title="Store POS",
    description="Store orders to the POS; its accepted/ready/completed callbacks back.",
    ports=("order.OrderSink",),
    settings_model=PosSettings,
    factory=PosPlugin,
    topics=("order.placed", "order.cancelled"),
)
