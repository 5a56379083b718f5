"""An emulator of a takeout platform's open API: a real HTTP server on loopback that
checks our signature, serves new orders by sequence number (with its failure modes:
duplicated and shuffled pages, plus those of ``LoopbackServer``), and records the
statuses and rejections we send back (idempotent by event id)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from plugins import signing
from plugins.emulation import LoopbackServer


@dataclass
class PlatformState:
    app_id: str
    app_secret: str
    orders: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0
    statuses: dict[str, list[str]] = field(default_factory=dict)  # by external id
    rejected: dict[str, str] = field(default_factory=dict)
    seen_events: set[str] = field(default_factory=set)
    duplicate_pages: bool = False
    shuffle_pages: bool = False
    bad_signatures: int = 0

    def new_order(
        self, store_code: str, lines: list[tuple[str, int]], buyer: str = "138****0000"
    ) -> str:
        self.seq += 1
        external_id = f"MT{self.seq:08d}"
        self.orders.append(
            {
                "seq": self.seq,
                "order_id": external_id,
                "store_code": store_code,
                "buyer": buyer,
                "lines": [{"sku_code": c, "quantity": q} for c, q in lines],
            }
        )
        return external_id


def platform_app(state: PlatformState) -> Starlette:
    async def signed(request: Request) -> bool:
        body = await request.body()
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        message = body if request.method == "POST" else target.encode()
        ok = request.headers.get("x-app-id") == state.app_id and signing.verify(
            state.app_secret,
            request.headers.get("x-timestamp", ""),
            request.headers.get("x-sign", ""),
            message,
        )
        if not ok:
            state.bad_signatures += 1
        return ok

    def refused() -> Response:
        return JSONResponse({"error": "bad signature"}, status_code=401)

    async def orders(request: Request) -> Response:
        if not await signed(request):
            return refused()
        since = int(request.query_params.get("since", "0"))
        limit = int(request.query_params.get("limit", "50"))
        page = [o for o in state.orders if o["seq"] > since][:limit]
        if state.duplicate_pages:
            page = page + page
        if state.shuffle_pages:
            random.shuffle(page)
        return JSONResponse({"orders": page})

    async def status(request: Request) -> Response:
        if not await signed(request):
            return refused()
        body = json.loads(await request.body())
        if body["event_id"] not in state.seen_events:
            state.seen_events.add(body["event_id"])
            state.statuses.setdefault(request.path_params["order_id"], []).append(body["status"])
        return JSONResponse({"ok": True})

    async def reject(request: Request) -> Response:
        if not await signed(request):
            return refused()
        body = json.loads(await request.body())
        state.rejected[request.path_params["order_id"]] = body["reason"]
        return JSONResponse({"ok": True})

    async def ping(request: Request) -> Response:
        return JSONResponse({"ok": True}) if await signed(request) else refused()

    return Starlette(
        routes=[
            Route("/open/v1/orders", orders, methods=["GET"]),
            Route("/open/v1/orders/{order_id}/status", status, methods=["POST"]),
            Route("/open/v1/orders/{order_id}/reject", reject, methods=["POST"]),
            Route("/open/v1/ping", ping, methods=["GET"]),
        ]
    )


def platform_emulator(
    app_id: str = "zt-app",
    app_secret: str = "platform-secret",  # noqa: S107 - an emulator's test credential
) -> tuple[LoopbackServer, PlatformState]:
    state = PlatformState(app_id=app_id, app_secret=app_secret)
    return LoopbackServer(platform_app(state)), state
