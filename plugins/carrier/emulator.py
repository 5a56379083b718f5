"""An emulator of a courier / rider platform's open API (同城配送, in the style of Dada
or SF's open platform): a real HTTP server on loopback.

Every request is ``POST`` of a JSON envelope signed with the merchant's app secret::

    {"app_key": "...", "timestamp": "1700000000", "body": "<JSON text>",
     "signature": hex HMAC-SHA256(secret, "app_key=<k>&body=<b>&timestamp=<t>")}

and every answer is HTTP 200 with ``{"code": 0, "msg": "success", "result": {...}}`` or a
business error code (``2005`` bad signature, ``2062`` no such order, ``2076`` the order
was cancelled, ``1001`` bad parameters) — the carrier answers 5xx only when it is
itself in trouble. Endpoints:

    /api/order/addOrder       {shop_no, origin_id, receiver_*, ready_at}  → the booking;
                              the same origin_id (our shipment id) again → the same booking
    /api/order/tracks         {client_id}   → {tracks: [{time, desc, location}]}, oldest first
    /api/order/formalCancel   {origin_id, reason} → cancelled (again: still cancelled)
    /api/merchant/ping        {}            → credentials check

Failure modes: those of ``LoopbackServer`` (5xx, hangs, lost acks) plus duplicated and
shuffled tracks (``CarrierState.duplicate_tracks`` / ``shuffle_tracks``).
"""

from __future__ import annotations

import hmac
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from plugins.carrier.wire import (
    BAD_PARAMS,
    BAD_SIGNATURE,
    NO_SUCH_ORDER,
    OK,
    ORDER_CANCELLED,
    TOLERANCE_SECONDS,
    sign,
)
from plugins.emulation import LoopbackServer

FEE_FEN = 800


@dataclass
class CarrierOrder:
    origin_id: str
    client_id: str  # the carrier's number: our tracking number
    shop_no: str
    receiver_name: str
    receiver_phone: str
    receiver_address: str
    fee: int
    created_at: int
    cancelled: bool = False


@dataclass
class CarrierState:
    app_key: str
    app_secret: str
    orders: dict[str, CarrierOrder] = field(default_factory=dict)  # by origin_id
    tracks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by client_id
    cancellations: int = 0
    duplicate_tracks: bool = False
    shuffle_tracks: bool = False
    _next: int = 0

    def number(self) -> str:
        self._next += 1
        return f"DD{int(time.time()) % 10**6:06d}{self._next:06d}"

    def book(self, origin_id: str, shop_no: str = "S1") -> CarrierOrder:
        """A booking made directly (e.g. by the contract suite's arrangements)."""
        found = self.orders.get(origin_id)
        if found is None:
            found = CarrierOrder(
                origin_id, self.number(), shop_no, "-", "-", "-", FEE_FEN, int(time.time())
            )
            self.orders[origin_id] = found
        return found

    def advance(self, client_id: str, desc: str, location: str | None, at: int) -> None:
        """The courier moved on: one more tracking event for ``client_id``."""
        self.tracks.setdefault(client_id, []).append(
            {"time": at, "desc": desc, "location": location}
        )

    def cancelled(self) -> list[str]:
        return [o.origin_id for o in self.orders.values() if o.cancelled]


def _answer(code: int, msg: str, result: Any = None) -> Response:
    return JSONResponse({"code": code, "msg": msg, "result": result})


def carrier_app(state: CarrierState) -> Starlette:
    async def opened(request: Request) -> dict[str, Any] | Response:
        """The request's business body, or the error answer."""
        try:
            outer = await request.json()
            app_key, stamp = str(outer["app_key"]), str(outer["timestamp"])
            body, given = str(outer["body"]), str(outer["signature"])
        except (ValueError, KeyError, TypeError):
            return _answer(BAD_PARAMS, "malformed envelope")
        expected = sign(state.app_secret, app_key, stamp, body)
        if app_key != state.app_key or not hmac.compare_digest(expected, given):
            return _answer(BAD_SIGNATURE, "signature mismatch")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
            return _answer(BAD_SIGNATURE, "stale timestamp")
        try:
            inner = json.loads(body)
        except ValueError:
            return _answer(BAD_PARAMS, "body is not JSON")
        if not isinstance(inner, dict):
            return _answer(BAD_PARAMS, "body is not an object")
        return inner

    def booking(order: CarrierOrder) -> dict[str, Any]:
        return {
            "origin_id": order.origin_id,
            "client_id": order.client_id,
            "fee": order.fee,
            "currency": "CNY",
            "estimated_pickup_time": order.created_at + 15 * 60,
        }

    async def add_order(request: Request) -> Response:
        body = await opened(request)
        if isinstance(body, Response):
            return body
        required = ("shop_no", "origin_id", "receiver_name", "receiver_phone", "receiver_address")
        if any(not isinstance(body.get(k), str) or not body[k] for k in required):
            return _answer(
                BAD_PARAMS, "missing " + ", ".join(k for k in required if not body.get(k))
            )
        found = state.orders.get(body["origin_id"])
        if found is not None:
            if found.cancelled:
                return _answer(ORDER_CANCELLED, "order was cancelled; use a new origin_id")
            return _answer(OK, "success", booking(found))
        order = CarrierOrder(
            origin_id=body["origin_id"],
            client_id=state.number(),
            shop_no=body["shop_no"],
            receiver_name=body["receiver_name"],
            receiver_phone=body["receiver_phone"],
            receiver_address=body["receiver_address"],
            fee=FEE_FEN,
            created_at=int(time.time()),
        )
        state.orders[order.origin_id] = order
        return _answer(OK, "success", booking(order))

    async def tracks(request: Request) -> Response:
        body = await opened(request)
        if isinstance(body, Response):
            return body
        client_id = body.get("client_id")
        if not any(o.client_id == client_id for o in state.orders.values()):
            return _answer(NO_SUCH_ORDER, "order does not exist")
        page = sorted(state.tracks.get(str(client_id), []), key=lambda t: t["time"])
        if state.duplicate_tracks:
            page = page + page
        if state.shuffle_tracks:
            random.shuffle(page)
        return _answer(OK, "success", {"client_id": client_id, "tracks": page})

    async def cancel(request: Request) -> Response:
        body = await opened(request)
        if isinstance(body, Response):
            return body
        found = state.orders.get(str(body.get("origin_id")))
        if found is None:
            return _answer(NO_SUCH_ORDER, "order does not exist")
        if not found.cancelled:
            found.cancelled = True
            state.cancellations += 1
        return _answer(OK, "success", {"deduct_fee": 0})

    async def ping(request: Request) -> Response:
        body = await opened(request)
        return body if isinstance(body, Response) else _answer(OK, "success", {})

    return Starlette(
        routes=[
            Route("/api/order/addOrder", add_order, methods=["POST"]),
            Route("/api/order/tracks", tracks, methods=["POST"]),
            Route("/api/order/formalCancel", cancel, methods=["POST"]),
            Route("/api/merchant/ping", ping, methods=["POST"]),
        ]
    )


def carrier_emulator(
    app_key: str = "carrier-app",
    app_secret: str = "carrier-secret",  # noqa: S107 - a test double's credentials
) -> tuple[LoopbackServer, CarrierState]:
    state = CarrierState(app_key=app_key, app_secret=app_secret)
    return LoopbackServer(carrier_app(state)), state
