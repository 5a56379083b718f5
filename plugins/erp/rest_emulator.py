"""An emulator of a generic REST ERP: a real HTTP server on loopback.

It checks the bearer key, keeps orders idempotent by ``Idempotency-Key`` (a retried
request is answered 200 and counted in ``duplicates``), and serves change feeds of stock
counts, products and promotion activities by source version. Store master data
(``PUT /api/v1/stores/{store_id}``) is kept by our store id: the last record wins, and
every distinct change is listed in ``store_changes``. Failure modes: those of ``LoopbackServer``
(5xx, hangs, lost acks, down), plus ``duplicate_feed`` (every item of a page twice) and
``shuffle_feed`` (a page out of version order), as real ERPs do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from plugins.emulation import LoopbackServer


@dataclass
class ErpState:
    api_key: str
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # by order id
    cancelled: set[str] = field(default_factory=set)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen_keys: set[str] = field(default_factory=set)
    duplicates: int = 0
    # Change feeds: (version, item), appended with increasing versions.
    stock_feed: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    product_feed: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    activity_feed: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    # Store master data by our store id, and each store's changes (event ids) in arrival order.
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)
    store_changes: dict[str, list[str]] = field(default_factory=dict)
    version: int = 0
    duplicate_feed: bool = False
    shuffle_feed: bool = False

    def set_stock(self, store_code: str, sku_code: str, on_hand: int) -> int:
        self.version += 1
        self.stock_feed.append(
            (self.version, {"store_code": store_code, "sku_code": sku_code, "on_hand": on_hand})
        )
        return self.version

    def set_product(self, code: str, name: str, skus: list[tuple[str, str, int]]) -> int:
        """Create or change a product; ``skus`` are (code, name, price in minor units)."""
        self.version += 1
        self.product_feed.append(
            (
                self.version,
                {
                    "code": code,
                    "name": name,
                    "skus": [{"code": c, "name": n, "price": p} for c, n, p in skus],
                },
            )
        )
        return self.version

    def set_activity(
        self,
        activity_id: str,
        name: str,
        kind: str,
        starts_at: str,
        ends_at: str,
        rules: dict[str, Any] | None = None,
    ) -> int:
        """Create or change a promotion activity (times as ISO 8601 with an offset)."""
        self.version += 1
        item: dict[str, Any] = {
            "id": activity_id,
            "name": name,
            "type": kind,
            "starts_at": starts_at,
            "ends_at": ends_at,
        }
        if rules is not None:
            item["rules"] = rules
        self.activity_feed.append((self.version, item))
        return self.version


STORE_FIELDS = ("code", "name", "timezone")


def erp_app(state: ErpState) -> Starlette:
    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {state.api_key}"

    def denied() -> Response:
        return JSONResponse({"error": "invalid api key"}, status_code=401)

    def first_time(request: Request) -> bool:
        key = request.headers.get("idempotency-key", "")
        if key in state.seen_keys:
            state.duplicates += 1
            return False
        state.seen_keys.add(key)
        return True

    async def orders(request: Request) -> Response:
        if not authorized(request):
            return denied()
        body = await request.json()
        if not first_time(request):
            return JSONResponse({"status": "duplicate"}, status_code=200)
        state.orders[body["payload"]["order_id"]] = body
        return JSONResponse({"status": "created"}, status_code=201)

    async def cancel(request: Request) -> Response:
        if not authorized(request):
            return denied()
        order_id = request.path_params["order_id"]
        if not first_time(request):
            return JSONResponse({"status": "duplicate"})
        if order_id not in state.orders:
            return JSONResponse({"error": "unknown order"}, status_code=409)
        state.cancelled.add(order_id)
        return JSONResponse({"status": "cancelled"})

    async def refunds(request: Request) -> Response:
        if not authorized(request):
            return denied()
        body = await request.json()
        if not first_time(request):
            return JSONResponse({"status": "duplicate"})
        state.refunds[body["id"]] = body
        return JSONResponse({"status": "created"}, status_code=201)

    async def store(request: Request) -> Response:
        if not authorized(request):
            return denied()
        store_id = request.path_params["store_id"]
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(body, dict) or not all(
            isinstance(body.get(name), str) and body[name] for name in ("code", "name")
        ):
            return JSONResponse({"error": "code and name are required"}, status_code=422)
        if not first_time(request):
            return JSONResponse({"status": "duplicate"})
        created = store_id not in state.stores
        state.stores[store_id] = {name: body.get(name) for name in STORE_FIELDS}
        state.store_changes.setdefault(store_id, []).append(
            request.headers.get("idempotency-key", "")
        )
        return JSONResponse(
            {"status": "created" if created else "updated"}, status_code=201 if created else 200
        )

    def feed(items: list[tuple[int, dict[str, Any]]], request: Request) -> Response:
        if not authorized(request):
            return denied()
        since = int(request.query_params.get("since", "0"))
        limit = int(request.query_params.get("limit", "100"))
        page = [{"version": v, **item} for v, item in items if v > since][:limit]
        next_since = page[-1]["version"] if page else since
        if state.duplicate_feed:
            page = page + page
        if state.shuffle_feed:
            random.shuffle(page)
        return JSONResponse({"items": page, "next_since": next_since})

    async def stock(request: Request) -> Response:
        return feed(state.stock_feed, request)

    async def products(request: Request) -> Response:
        return feed(state.product_feed, request)

    async def promotions(request: Request) -> Response:
        return feed(state.activity_feed, request)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True}) if authorized(request) else denied()

    return Starlette(
        routes=[
            Route("/api/v1/orders", orders, methods=["POST"]),
            Route("/api/v1/orders/{order_id}/cancel", cancel, methods=["POST"]),
            Route("/api/v1/refunds", refunds, methods=["POST"]),
            Route("/api/v1/stock", stock, methods=["GET"]),
            Route("/api/v1/products", products, methods=["GET"]),
            Route("/api/v1/stores/{store_id}", store, methods=["PUT"]),
            Route("/api/v1/promotions", promotions, methods=["GET"]),
            Route("/api/v1/health", health, methods=["GET"]),
        ]
    )


def erp_emulator(api_key: str = "erp-key") -> tuple[LoopbackServer, ErpState]:
    """A stopped server and its state; ``async with server:`` runs it."""
    state = ErpState(api_key=api_key)
    return LoopbackServer(erp_app(state)), state
