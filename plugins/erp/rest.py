"""``erp-rest``: a tenant ERP with a plain REST API (the generic adapter).

Outbound (outbox events to the ERP, idempotent by event id through ``Idempotency-Key``):

    order.placed      POST /api/v1/orders
    order.cancelled   POST /api/v1/orders/{order_id}/cancel
    payment.refunded  POST /api/v1/refunds
    store.store_created, store.store_changed
                      PUT /api/v1/stores/{store_id}  (主数据下发: the whole record)

Inbound (the ERP is the source of truth for products, prices, on-hand counts and
promotion activities): ``pull`` reads ``GET /api/v1/products?since=<version>`` (upserted
by external code through ``product.api.upsert_product``), then
``GET /api/v1/stock?since=<version>`` (``stock.api.sync_level``), then
``GET /api/v1/promotions?since=<version>`` (``promotion.api.import_activity``), each
change once, in source-version order (``plugins.erp.inbound``, ``plugins.erp.promotions``).
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, Field, HttpUrl, SecretStr

from kernel.dispatch.inbound import Inbound
from kernel.plugins.manifest import DeliveredEvent, PluginContext, PluginError, PluginManifest
from plugins.erp.inbound import (
    MAX_PAGES_PER_PULL,
    PullStats,
    apply_products,
    apply_stock,
    parse_products,
    parse_stock,
)
from plugins.erp.promotions import apply_activities, parse_activities

STORE_TOPICS = ("store.store_created", "store.store_changed")


def store_record(event: DeliveredEvent) -> dict[str, Any]:
    """The ERP's store master record: the whole record each time, so the ERP overwrites
    its copy by our store id whatever it missed before."""
    payload = event.payload
    return {
        "store_id": str(payload["store_id"]),
        "code": payload["code"],
        "name": payload["name"],
        # Store events written before they carried the time zone have none.
        "timezone": payload.get("timezone") or None,
        "changed_at": event.occurred_at.isoformat(),
        "event_id": str(event.id),
    }


class ErpRestSettings(BaseModel):
    base_url: HttpUrl = Field(description="Root of the ERP's REST API, e.g. https://erp.example/")
    api_key: SecretStr = Field(description="Bearer token the ERP issued to this tenant.")
    push_orders: bool = Field(default=True, description="Send orders and refunds to the ERP.")
    # Off by default: many ERPs are themselves the master of store data and would take
    # ours as a conflicting edit; turn it on where the platform is the master (主数据下发).
    push_stores: bool = Field(
        default=False, description="Send stores created or changed here to the ERP."
    )
    pull_promotions: bool = Field(
        default=True, description="Import the ERP's promotion activities (as drafts)."
    )
    page_size: int = Field(default=100, ge=1, le=1000, description="Items per inbound page.")


class ErpRestPlugin:
    def __init__(self, context: PluginContext) -> None:
        settings = context.settings
        assert isinstance(settings, ErpRestSettings)
        self.settings = settings
        self.last_pull = PullStats()
        self.client = httpx.AsyncClient(
            base_url=str(settings.base_url).rstrip("/") + "/api/v1",
            headers={"authorization": f"Bearer {settings.api_key.get_secret_value()}"},
            timeout=context.call_timeout,
        )

    async def _send(self, method: str, path: str, event: DeliveredEvent, body: Any) -> None:
        try:
            response = await self.client.request(
                method, path, json=body, headers={"idempotency-key": str(event.id)}
            )
        except httpx.HTTPError as error:
            raise PluginError(f"ERP unreachable: {type(error).__name__}") from None
        if response.status_code >= 300:
            raise PluginError(f"ERP answered HTTP {response.status_code} to {method} {path}")

    async def handle_event(self, event: DeliveredEvent) -> None:
        payload = event.payload
        if event.topic in STORE_TOPICS:
            if self.settings.push_stores:
                await self._send(
                    "PUT", f"/stores/{payload['store_id']}", event, store_record(event)
                )
            return
        if not self.settings.push_orders:
            return
        if event.topic == "order.placed":
            await self._send("POST", "/orders", event, event.as_json())
        elif event.topic == "order.cancelled":
            await self._send(
                "POST", f"/orders/{payload['order_id']}/cancel", event, event.as_json()
            )
        elif event.topic == "payment.refunded":
            await self._send("POST", "/refunds", event, event.as_json())

    async def get_page(self, resource: str, since: int) -> dict[str, Any]:
        """One page of inbound changes after ``since`` (raises ``PluginError``)."""
        try:
            response = await self.client.get(
                f"/{resource}", params={"since": since, "limit": self.settings.page_size}
            )
        except httpx.HTTPError as error:
            raise PluginError(f"ERP unreachable: {type(error).__name__}") from None
        if response.status_code != 200:
            raise PluginError(f"ERP answered HTTP {response.status_code} to GET /{resource}")
        try:
            body = response.json()
        except ValueError:
            raise PluginError(f"ERP sent a non-JSON page of {resource}") from None
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise PluginError(f"ERP sent a malformed page of {resource}")
        return body

    async def pull(self, inbound: Inbound) -> None:
        """Bring products in, then stock counts (a new SKU exists before its count),
        page by page, until the ERP has nothing newer."""
        self.last_pull = PullStats()
        await self._pull_products(inbound)
        await self._pull_stock(inbound)
        if self.settings.pull_promotions:
            await self._pull_activities(inbound)

    async def _pull_activities(self, inbound: Inbound) -> None:
        async with inbound.transaction() as session:
            since = int((await inbound.cursor(session)).get("promotions", 0))
        for _ in range(MAX_PAGES_PER_PULL):
            page = await self.get_page("promotions", since)
            changes = parse_activities(page["items"])
            if not changes:
                return
            newest, stats = await apply_activities(inbound, changes, "promotions")
            self.last_pull.applied += stats.applied
            self.last_pull.stale += stats.stale
            if newest <= since or len(page["items"]) < self.settings.page_size:
                return
            since = newest

    async def _pull_products(self, inbound: Inbound) -> None:
        async with inbound.transaction() as session:
            since = int((await inbound.cursor(session)).get("products", 0))
        for _ in range(MAX_PAGES_PER_PULL):
            page = await self.get_page("products", since)
            changes = parse_products(page["items"])
            if not changes:
                return
            newest, stats = await apply_products(inbound, changes, "products")
            self.last_pull.applied += stats.applied
            self.last_pull.stale += stats.stale
            if newest <= since or len(page["items"]) < self.settings.page_size:
                return
            since = newest

    async def _pull_stock(self, inbound: Inbound) -> None:
        async with inbound.transaction() as session:
            since = int((await inbound.cursor(session)).get("stock", 0))
        for _ in range(MAX_PAGES_PER_PULL):
            page = await self.get_page("stock", since)
            counts = parse_stock(page["items"])
            if not counts:
                return
            newest, stats = await apply_stock(inbound, counts, "stock", "erp-rest")
            self.last_pull.applied += stats.applied
            self.last_pull.stale += stats.stale
            self.last_pull.unknown += stats.unknown
            if newest <= since or len(page["items"]) < self.settings.page_size:
                return
            since = newest

    async def check_health(self) -> None:
        try:
            response = await self.client.get("/health")
        except httpx.HTTPError as error:
            raise PluginError(f"ERP unreachable: {type(error).__name__}") from None
        if response.status_code == 401:
            raise PluginError("ERP refused the API key")
        if response.status_code != 200:
            raise PluginError(f"ERP health answered HTTP {response.status_code}")

    async def aclose(self) -> None:
        await self.client.aclose()


MANIFEST = PluginManifest(
    name="erp-rest",
    version="1.1.0",
    title="Generic REST ERP",
    description="Orders, refunds and store master data to the ERP; products, prices, "
    "stock counts and promotion activities from it.",
    ports=(
        "order.OrderSink",
        "stock.StockSource",
        "product.CatalogSource",
        "store.StoreDirectory",
        "promotion.PromotionSync",
    ),
    settings_model=ErpRestSettings,
    factory=ErpRestPlugin,
    topics=("order.placed", "order.cancelled", "payment.refunded", *STORE_TOPICS),
    pull_interval_seconds=30.0,
)
