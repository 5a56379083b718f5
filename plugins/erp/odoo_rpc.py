"""A small client of Odoo's external JSON-RPC API (``POST /jsonrpc``):
``common.authenticate`` once, then ``object.execute_kw`` per call.

    {"jsonrpc": "2.0", "method": "call", "id": 7,
     "params": {"service": "object", "method": "execute_kw",
                "args": [db, uid, api_key, model, method, args, kwargs]}}

Odoo answers ``{"result": …}`` or ``{"error": {"code", "message", "data": {"name",
"message"}}}``; both transport failures and Odoo errors raise ``PluginError``.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from kernel.plugins.manifest import PluginError


class OdooRpc:
    def __init__(
        self, base_url: str, database: str, login: str, api_key: str, *, timeout: float
    ) -> None:
        self.client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)
        self.database = database
        self.login = login
        self.api_key = api_key
        self.uid: int | None = None
        self._ids = itertools.count(1)

    async def call(self, service: str, method: str, *args: Any) -> Any:
        request = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": next(self._ids),
            "params": {"service": service, "method": method, "args": list(args)},
        }
        try:
            response = await self.client.post("/jsonrpc", json=request)
        except httpx.HTTPError as error:
            raise PluginError(f"Odoo unreachable: {type(error).__name__}") from None
        if response.status_code != 200:
            raise PluginError(f"Odoo answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise PluginError("Odoo sent a non-JSON answer") from None
        if not isinstance(body, dict):
            raise PluginError("Odoo sent a malformed answer")
        if "error" in body:
            fault = body["error"] or {}
            data = fault.get("data") or {}
            raise PluginError(
                f"Odoo error: {data.get('name') or fault.get('message')}: {data.get('message', '')}"
            )
        return body.get("result")

    async def authenticate(self) -> int:
        if self.uid is None:
            uid = await self.call(
                "common", "authenticate", self.database, self.login, self.api_key, {}
            )
            if not isinstance(uid, int) or isinstance(uid, bool):
                raise PluginError("Odoo refused the login or API key")
            self.uid = uid
        return self.uid

    async def execute(
        self, model: str, method: str, args: list[Any], kwargs: dict[str, Any] | None = None
    ) -> Any:
        uid = await self.authenticate()
        return await self.call(
            "object",
            "execute_kw",
            self.database,
            uid,
            self.api_key,
            model,
            method,
            args,
            kwargs or {},
        )

    async def aclose(self) -> None:
        await self.client.aclose()
