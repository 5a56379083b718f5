"""``erp-odoo``: an Odoo ERP over its external JSON-RPC API (``plugins.erp.odoo_rpc``).

Outbound:
- ``order.placed`` → a ``sale.order`` with ``client_order_ref`` = our order id (searched
  first, so a redelivery creates nothing), ``origin`` = our order number, one line per
  order line (``product_id`` found by ``default_code`` = our SKU code when Odoo has it;
  prices in major units, as Odoo keeps them);
- ``order.cancelled`` → ``action_cancel`` on that sale order.

Inbound (``pull``): ``stock.quant`` records written since the cursor
(``write_date >= cursor``, oldest first), mapped by product ``default_code`` (our SKU
code) and location ``barcode`` (our store or warehouse code), applied through
``stock.api.sync_level`` with the write time (Unix seconds) as source version. Odoo's
``write_date`` has one-second resolution: the boundary second is read again on the next
pull and an equal version is a no-op, so nothing is applied twice.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, HttpUrl, SecretStr

from centers.product import api as product_api
from kernel.dispatch.inbound import Inbound
from kernel.plugins.manifest import DeliveredEvent, PluginContext, PluginError, PluginManifest
from plugins.erp.inbound import StockCount, apply_stock
from plugins.erp.odoo_rpc import OdooRpc

ODOO_TIME = "%Y-%m-%d %H:%M:%S"


class OdooSettings(BaseModel):
    base_url: HttpUrl = Field(description="The Odoo server, e.g. https://brand.odoo.com")
    database: str = Field(min_length=1, max_length=100, description="Odoo database name.")
    login: str = Field(min_length=1, max_length=200, description="Odoo user login.")
    api_key: SecretStr = Field(description="The user's Odoo API key.")
    partner_id: int = Field(ge=1, description="Odoo customer (res.partner) orders are booked on.")
    page_size: int = Field(default=200, ge=1, le=1000)


def odoo_version(write_date: str) -> int:
    """Seconds since the epoch of an Odoo ``write_date`` (UTC)."""
    return int(datetime.strptime(write_date, ODOO_TIME).replace(tzinfo=UTC).timestamp())


class OdooPlugin:
    def __init__(self, context: PluginContext) -> None:
        settings = context.settings
        assert isinstance(settings, OdooSettings)
        self.settings = settings
        self.inbound: Inbound | None = context.inbound
        self.rpc = OdooRpc(
            str(settings.base_url),
            settings.database,
            settings.login,
            settings.api_key.get_secret_value(),
            timeout=context.call_timeout,
        )

    async def _sale_order(self, order_id: str) -> list[int]:
        found = await self.rpc.execute(
            "sale.order", "search", [[["client_order_ref", "=", order_id]]], {"limit": 1}
        )
        if not isinstance(found, list):
            raise PluginError("Odoo sent a malformed search answer")
        return [int(i) for i in found]

    async def _products(self, sku_ids: list[str]) -> dict[str, int]:
        """Our SKU id -> Odoo product id, matched by ``default_code`` = SKU code."""
        if self.inbound is None or not sku_ids:
            return {}
        async with self.inbound.transaction() as session:
            skus = await product_api.get_skus(
                session, self.inbound.tenant_id, [uuid.UUID(s) for s in sku_ids]
            )
        codes = {sku.code: str(sku_id) for sku_id, sku in skus.items()}
        if not codes:
            return {}
        rows = await self.rpc.execute(
            "product.product",
            "search_read",
            [[["default_code", "in", sorted(codes)]]],
            {"fields": ["id", "default_code"]},
        )
        return {codes[r["default_code"]]: int(r["id"]) for r in rows if r["default_code"] in codes}

    async def handle_event(self, event: DeliveredEvent) -> None:
        payload = event.payload
        order_id = str(payload["order_id"])
        if event.topic == "order.placed":
            if await self._sale_order(order_id):
                return  # delivered before: at least once, booked once
            lines = list(payload.get("lines") or [])
            products = await self._products([str(line["sku_id"]) for line in lines])
            order_lines = []
            for line in lines:
                values: dict[str, Any] = {
                    "name": f"SKU {line['sku_id']}",
                    "product_uom_qty": int(line["quantity"]),
                    "price_unit": int(line["unit_price_amount"]) / 100,
                }
                if str(line["sku_id"]) in products:
                    values["product_id"] = products[str(line["sku_id"])]
                order_lines.append([0, 0, values])
            await self.rpc.execute(
                "sale.order",
                "create",
                [
                    {
                        "partner_id": self.settings.partner_id,
                        "client_order_ref": order_id,
                        "origin": str(payload.get("number", "")),
                        "order_line": order_lines,
                    }
                ],
            )
        elif event.topic == "order.cancelled":
            ids = await self._sale_order(order_id)
            if not ids:
                raise PluginError(f"Odoo has no sale order for {order_id} yet")
            await self.rpc.execute("sale.order", "action_cancel", [ids])

    async def pull(self, inbound: Inbound) -> None:
        async with inbound.transaction() as session:
            since = str(
                (await inbound.cursor(session)).get("quant_write_date", "1970-01-01 00:00:00")
            )
        rows = await self.rpc.execute(
            "stock.quant",
            "search_read",
            [[["write_date", ">=", since]]],
            {
                "fields": ["id", "product_id", "location_id", "quantity", "write_date"],
                "order": "write_date asc, id asc",
                "limit": self.settings.page_size,
            },
        )
        if not isinstance(rows, list):
            raise PluginError("Odoo sent a malformed stock.quant page")
        if not rows:
            return
        try:
            product_ids = sorted({int(r["product_id"][0]) for r in rows})
            location_ids = sorted({int(r["location_id"][0]) for r in rows})
        except (KeyError, TypeError, ValueError, IndexError):
            raise PluginError("Odoo sent a malformed stock.quant record") from None
        products = {
            int(p["id"]): p.get("default_code")
            for p in await self.rpc.execute(
                "product.product", "read", [product_ids], {"fields": ["default_code"]}
            )
        }
        locations = {
            int(x["id"]): x.get("barcode")
            for x in await self.rpc.execute(
                "stock.location", "read", [location_ids], {"fields": ["barcode"]}
            )
        }
        counts = []
        newest = since
        for row in rows:
            code = products.get(int(row["product_id"][0]))
            place = locations.get(int(row["location_id"][0]))
            newest = max(newest, str(row["write_date"]))
            if not code or not place:
                continue  # not one of our SKUs or places
            try:
                quantity = int(float(row["quantity"]))
                version = odoo_version(str(row["write_date"]))
            except (TypeError, ValueError):
                raise PluginError("Odoo sent a malformed stock.quant record") from None
            counts.append(StockCount(version, str(place), str(code), max(quantity, 0)))
        counts.sort(key=lambda c: c.version)
        await apply_stock(inbound, counts, "odoo_quant_version", "erp-odoo", skip_seen=False)
        async with inbound.transaction() as session:
            cursor = await inbound.cursor(session)
            await inbound.save_cursor(session, {**cursor, "quant_write_date": newest})

    async def check_health(self) -> None:
        version = await self.rpc.call("common", "version")
        if not isinstance(version, dict) or "server_version" not in version:
            raise PluginError("not an Odoo server")
        await self.rpc.authenticate()

    async def aclose(self) -> None:
        await self.rpc.aclose()


MANIFEST = PluginManifest(
    name="erp-odoo",
    version="1.0.0",
    title="Odoo ERP (JSON-RPC)",
    description="Orders to Odoo as sale orders; on-hand counts from its stock quants.",
    ports=("order.OrderSink", "stock.StockSource"),
    settings_model=OdooSettings,
    factory=OdooPlugin,
    topics=("order.placed", "order.cancelled"),
    pull_interval_seconds=60.0,
)
