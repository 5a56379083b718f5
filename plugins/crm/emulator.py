"""An emulator of a REST CRM: a real HTTP server on loopback holding members and points
balances by our ids (PUTs are idempotent; a points entry older than the newest applied
is ignored, as the PointsSync port asks), and a feed of members created in the CRM with
its failure modes (duplicated and shuffled pages, plus those of ``LoopbackServer``).
Levels from ``member.level_changed`` are kept by event id (time-ordered): an older one
is ignored. ``signed_push`` builds the member push the CRM POSTs to our hook."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from plugins import signing
from plugins.emulation import LoopbackServer


@dataclass
class CrmState:
    api_key: str
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # by our member id
    balances: dict[str, int] = field(default_factory=dict)
    levels: dict[str, int] = field(default_factory=dict)
    last_entry: dict[str, str] = field(default_factory=dict)
    last_level_event: dict[str, str] = field(default_factory=dict)
    growth: dict[str, int] = field(default_factory=dict)
    puts: int = 0
    feed: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0
    duplicate_pages: bool = False
    shuffle_pages: bool = False

    def sign_up(self, phone: str, name: str) -> int:
        """A member created or changed at the CRM (e.g. at a counter); its new version."""
        self.version += 1
        self.feed.append({"version": self.version, "phone": phone, "name": name})
        return self.version


def crm_app(state: CrmState) -> Starlette:
    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {state.api_key}"

    def denied() -> Response:
        return JSONResponse({"error": "unauthorized"}, status_code=401)

    async def put_member(request: Request) -> Response:
        if not authorized(request):
            return denied()
        state.puts += 1
        body = await request.json()
        state.members[request.path_params["member_id"]] = body
        if body.get("level") is not None:
            state.levels[request.path_params["member_id"]] = body["level"]
        return JSONResponse({"ok": True})

    async def put_points(request: Request) -> Response:
        if not authorized(request):
            return denied()
        member_id = request.path_params["member_id"]
        body = await request.json()
        # Entry ids are time-ordered (UUIDv7): never go back to an older balance.
        if body["entry_id"] >= state.last_entry.get(member_id, ""):
            state.last_entry[member_id] = body["entry_id"]
            state.balances[member_id] = body["balance"]
            if body.get("level") is not None:
                state.levels[member_id] = body["level"]
        return JSONResponse({"ok": True})

    async def put_level(request: Request) -> Response:
        if not authorized(request):
            return denied()
        member_id = request.path_params["member_id"]
        body = await request.json()
        if body["event_id"] > state.last_level_event.get(member_id, ""):
            state.last_level_event[member_id] = body["event_id"]
            state.levels[member_id] = body["level"]
            state.growth[member_id] = body["growth"]
        return JSONResponse({"ok": True})

    async def members(request: Request) -> Response:
        if not authorized(request):
            return denied()
        since = int(request.query_params.get("since", "0"))
        limit = int(request.query_params.get("limit", "100"))
        page = [m for m in state.feed if m["version"] > since][:limit]
        if state.duplicate_pages:
            page = page + page
        if state.shuffle_pages:
            random.shuffle(page)
        return JSONResponse({"items": page})

    async def ping(request: Request) -> Response:
        return JSONResponse({"ok": True}) if authorized(request) else denied()

    return Starlette(
        routes=[
            Route("/crm/v1/members/{member_id}", put_member, methods=["PUT"]),
            Route("/crm/v1/members/{member_id}/points", put_points, methods=["PUT"]),
            Route("/crm/v1/members/{member_id}/level", put_level, methods=["PUT"]),
            Route("/crm/v1/members", members, methods=["GET"]),
            Route("/crm/v1/ping", ping, methods=["GET"]),
        ]
    )


def crm_emulator(api_key: str = "crm-key") -> tuple[LoopbackServer, CrmState]:
    state = CrmState(api_key=api_key)
    return LoopbackServer(crm_app(state)), state


def signed_push(
    secret: str, version: int, phone: str, name: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of the CRM's push of one member to our hook."""
    body = json.dumps({"version": version, "phone": phone, "name": name}).encode()
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    return body, {
        "content-type": "application/json",
        "x-crm-timestamp": stamp,
        "x-crm-signature": signing.signature(secret, stamp, body),
    }
