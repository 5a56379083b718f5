"""An emulator of a POS cloud: a real HTTP server on loopback taking our orders (bearer
key, idempotent by ``Idempotency-Key``), and a client that sends the POS's signed status
callbacks to us, including its failure modes: repeated and out-of-order callbacks, and
a wrong signature."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from plugins import signing
from plugins.emulation import LoopbackServer


@dataclass
class PosState:
    api_key: str
    callback_secret: str
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    seen_keys: set[str] = field(default_factory=set)
    duplicates: int = 0


def pos_app(state: PosState) -> Starlette:
    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {state.api_key}"

    def repeated(request: Request) -> bool:
        key = request.headers.get("idempotency-key", "")
        if key in state.seen_keys:
            state.duplicates += 1
            return True
        state.seen_keys.add(key)
        return False

    async def orders(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        body = await request.json()
        if repeated(request):
            return JSONResponse({"status": "duplicate"})
        state.orders[body["payload"]["order_id"]] = body
        return JSONResponse({"status": "queued"}, status_code=201)

    async def cancel(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if not repeated(request):
            state.cancelled.add(request.path_params["order_id"])
        return JSONResponse({"status": "cancelled"})

    async def ping(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return JSONResponse({"pong": True})

    return Starlette(
        routes=[
            Route("/pos/v1/orders", orders, methods=["POST"]),
            Route("/pos/v1/orders/{order_id}/cancel", cancel, methods=["POST"]),
            Route("/pos/v1/ping", ping, methods=["GET"]),
        ]
    )


def pos_emulator(
    api_key: str = "pos-key",
    secret: str = "pos-secret",  # noqa: S107 - an emulator's test credential
) -> tuple[LoopbackServer, PosState]:
    state = PosState(api_key=api_key, callback_secret=secret)
    return LoopbackServer(pos_app(state)), state


def signed_callback(
    secret: str, order_id: str, status: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a POS status callback."""
    body = json.dumps({"order_id": order_id, "status": status}).encode()
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    headers = {
        "content-type": "application/json",
        "x-pos-timestamp": stamp,
        "x-pos-signature": signing.signature(secret, stamp, body),
    }
    return body, headers


async def send_status(
    client: httpx.AsyncClient, url: str, secret: str, order_id: str, status: str
) -> httpx.Response:
    """POST one signed status callback to ``url`` (our hook) as the POS would."""
    body, headers = signed_callback(secret, order_id, status)
    return await client.post(url, content=body, headers=headers)
