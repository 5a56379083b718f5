"""``channel-takeout``: a takeout platform's open API (Meituan/Ele.me style).

Requests to the platform carry ``X-App-Id``, ``X-Timestamp`` and ``X-Sign`` (HMAC-SHA256
of ``"<timestamp>.<path and query or body>"`` with the app secret, ``plugins.signing``).

Inbound (``pull``): ``GET /open/v1/orders?since=<seq>`` pages new orders by the
platform's sequence number. Each order is imported once through
``order.api.import_channel_order`` (idempotent by channel and external id) in seq
order, duplicates and shuffled pages included, and the cursor saved in the same
transaction. An order we cannot take (unknown store or SKU, out of stock) is rejected
at the platform (``POST /open/v1/orders/{id}/reject``) so the buyer is refunded there.

Outbound: ``order.status_changed`` of this channel's orders →
``POST /open/v1/orders/{external id}/status`` (idempotent by event id); other orders
never leave the platform.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, Field, HttpUrl, SecretStr

from centers.order import api as order_api
from centers.product import api as product_api
from centers.store import api as store_api
from kernel.dispatch.inbound import Inbound
from kernel.errors import UserInputError
from kernel.plugins.manifest import DeliveredEvent, PluginContext, PluginError, PluginManifest
from plugins import signing

# Our order status -> the platform's.
STATUS_OUT = {
    "ACCEPTED": "confirmed",
    "PREPARING": "preparing",
    "READY": "ready",
    "DELIVERING": "delivering",
    "DELIVERED": "completed",
    "PICKED_UP": "completed",
    "CANCELLED": "cancelled",
}
MAX_PAGES_PER_PULL = 20


class ChannelSettings(BaseModel):
    base_url: HttpUrl = Field(description="Root of the platform's open API.")
    app_id: str = Field(min_length=1, max_length=64, description="Our app id at the platform.")
    app_secret: SecretStr = Field(description="Secret that signs our requests.")
    channel: str = Field(
        default="MEITUAN", pattern=r"^[A-Z][A-Z0-9_]{1,31}$", description="Order channel name."
    )
    page_size: int = Field(default=50, ge=1, le=500)


@dataclass(frozen=True, slots=True)
class ChannelLine:
    sku_code: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ChannelOrder:
    seq: int
    external_id: str
    store_code: str
    buyer: str
    lines: tuple[ChannelLine, ...]


def parse_orders(items: Any) -> list[ChannelOrder]:
    """Validate a page (garbage raises ``PluginError``; nothing of it is applied), drop
    duplicates and sort by sequence number."""
    if not isinstance(items, list):
        raise PluginError("platform sent a malformed page of orders")
    by_seq: dict[int, ChannelOrder] = {}
    for index, item in enumerate(items):
        try:
            order = ChannelOrder(
                seq=int(item["seq"]),
                external_id=str(item["order_id"]),
                store_code=str(item["store_code"]),
                buyer=str(item.get("buyer") or "guest"),
                lines=tuple(
                    ChannelLine(str(line["sku_code"]), int(line["quantity"]))
                    for line in item["lines"]
                ),
            )
        except (KeyError, TypeError, ValueError):
            raise PluginError(f"malformed order #{index} from the platform") from None
        by_seq[order.seq] = order
    return [by_seq[s] for s in sorted(by_seq)]


class ChannelPlugin:
    def __init__(self, context: PluginContext) -> None:
        settings = context.settings
        assert isinstance(settings, ChannelSettings)
        self.settings = settings
        self.inbound: Inbound | None = context.inbound
        self.client = httpx.AsyncClient(
            base_url=str(settings.base_url).rstrip("/"), timeout=context.call_timeout
        )
        self.imported = 0
        self.rejected: list[str] = []

    def _headers(self, signed: bytes) -> dict[str, str]:
        stamp = str(int(time.time()))
        secret = self.settings.app_secret.get_secret_value()
        return {
            "x-app-id": self.settings.app_id,
            "x-timestamp": stamp,
            "x-sign": signing.signature(secret, stamp, signed),
        }

    async def _call(self, method: str, path: str, *, body: Any = None, params: Any = None) -> Any:
        content = json.dumps(body).encode() if body is not None else b""
        target = path + ("?" + urlencode(params) if params else "")
        signed = content if body is not None else target.encode()
        try:
            response = await self.client.request(
                method,
                target,
                content=content or None,
                headers={**self._headers(signed), "content-type": "application/json"},
            )
        except httpx.HTTPError as error:
            raise PluginError(f"platform unreachable: {type(error).__name__}") from None
        if response.status_code >= 300:
            raise PluginError(f"platform answered HTTP {response.status_code} to {method} {path}")
        try:
            return response.json()
        except ValueError:
            raise PluginError(f"platform sent non-JSON to {method} {path}") from None

    async def handle_event(self, event: DeliveredEvent) -> None:
        if event.topic != "order.status_changed" or self.inbound is None:
            return
        status = STATUS_OUT.get(str(event.payload.get("to_status")))
        if status is None:
            return
        async with self.inbound.transaction() as session:
            order = await order_api.get_order(
                session, self.inbound.tenant_id, uuid.UUID(str(event.payload["order_id"]))
            )
        if order is None or order.channel != self.settings.channel or not order.external_id:
            return  # not this platform's order: it never leaves us
        await self._call(
            "POST",
            f"/open/v1/orders/{order.external_id}/status",
            body={"status": status, "event_id": str(event.id)},
        )

    async def pull(self, inbound: Inbound) -> None:
        async with inbound.transaction() as session:
            since = int((await inbound.cursor(session)).get("seq", 0))
        for _ in range(MAX_PAGES_PER_PULL):
            page = await self._call(
                "GET", "/open/v1/orders", params={"since": since, "limit": self.settings.page_size}
            )
            orders = [o for o in parse_orders(page.get("orders")) if o.seq > since]
            if not orders:
                return
            rejected = await self._import(inbound, orders)
            for external_id, reason in rejected:
                await self._call(
                    "POST", f"/open/v1/orders/{external_id}/reject", body={"reason": reason}
                )
            since = orders[-1].seq
            if len(page.get("orders") or []) < self.settings.page_size:
                return

    async def _import(self, inbound: Inbound, orders: list[ChannelOrder]) -> list[tuple[str, str]]:
        rejected: list[tuple[str, str]] = []
        async with inbound.transaction() as session:
            cursor = await inbound.cursor(session)
            for order in orders:
                reason = await self._import_one(session, inbound.tenant_id, order)
                if reason is None:
                    self.imported += 1
                else:
                    rejected.append((order.external_id, reason))
                    self.rejected.append(order.external_id)
            await inbound.save_cursor(session, {**cursor, "seq": orders[-1].seq})
        return rejected

    async def _import_one(
        self, session: Any, tenant_id: uuid.UUID, order: ChannelOrder
    ) -> str | None:
        store = await store_api.store_by_code(session, tenant_id, order.store_code)
        if store is None:
            return f"unknown store {order.store_code}"
        lines = []
        for line in order.lines:
            sku = await product_api.sku_by_code(session, tenant_id, line.sku_code)
            if sku is None:
                return f"unknown item {line.sku_code}"
            lines.append(order_api.LineRequest(sku_id=sku.id, quantity=line.quantity))
        try:
            async with session.begin_nested():  # a refused order leaves no trace
                await order_api.import_channel_order(
                    session,
                    tenant_id,
                    channel=self.settings.channel,
                    external_id=order.external_id,
                    store_id=store.id,
                    buyer=f"channel:{order.buyer}"[:200],
                    lines=lines,
                )
        except UserInputError as error:
            return f"{error.code}: {error.message}"
        return None

    async def check_health(self) -> None:
        await self._call("GET", "/open/v1/ping")

    async def aclose(self) -> None:
        await self.client.aclose()


MANIFEST = PluginManifest(
    name="channel-takeout",
    version="1.0.0",
    title="Takeout platform",
    description="Pulls takeout orders into the order center; syncs their status back.",
    ports=("order.OrderSink",),
    settings_model=ChannelSettings,
    factory=ChannelPlugin,
    topics=("order.status_changed",),
    pull_interval_seconds=10.0,
)
