"""An emulator of Odoo's external JSON-RPC API (``POST /jsonrpc``): a real HTTP server
on loopback with ``common.version``, ``common.authenticate`` and ``object.execute_kw``
over the models an ERP adapter touches (``sale.order``, ``product.product``,
``stock.location``, ``stock.quant``), Odoo-shaped errors (``AccessDenied``, unknown
model or method), and the failure modes of ``LoopbackServer``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from plugins.emulation import LoopbackServer

UID = 2


@dataclass
class OdooState:
    database: str
    login: str
    api_key: str
    models: dict[str, dict[int, dict[str, Any]]] = field(
        default_factory=lambda: {
            "sale.order": {},
            "product.product": {},
            "stock.location": {},
            "stock.quant": {},
        }
    )
    next_id: int = 1
    clock: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    calls: int = 0

    def _create(self, model: str, values: dict[str, Any]) -> int:
        record_id = self.next_id
        self.next_id += 1
        self.models[model][record_id] = {"id": record_id, **values}
        return record_id

    def tick(self, seconds: int = 1) -> str:
        self.clock += timedelta(seconds=seconds)
        return self.clock.strftime("%Y-%m-%d %H:%M:%S")

    def add_product(self, default_code: str) -> int:
        return self._create("product.product", {"default_code": default_code, "name": default_code})

    def add_location(self, barcode: str) -> int:
        return self._create("stock.location", {"barcode": barcode, "name": barcode})

    def set_quant(self, product_id: int, location_id: int, quantity: float) -> None:
        """Create or update the quant (Odoo bumps ``write_date`` on every write)."""
        stamp = self.tick()
        for quant in self.models["stock.quant"].values():
            if quant["product_id"][0] == product_id and quant["location_id"][0] == location_id:
                quant.update(quantity=quantity, write_date=stamp)
                return
        self._create(
            "stock.quant",
            {
                "product_id": [product_id, self.models["product.product"][product_id]["name"]],
                "location_id": [location_id, self.models["stock.location"][location_id]["name"]],
                "quantity": quantity,
                "write_date": stamp,
            },
        )

    def sale_orders(self) -> list[dict[str, Any]]:
        return list(self.models["sale.order"].values())


def _value(record: dict[str, Any], name: str) -> Any:
    value = record.get(name)
    return value[0] if isinstance(value, list) and value and isinstance(value[0], int) else value


def _matches(record: dict[str, Any], domain: list[Any]) -> bool:
    for name, operator, expected in domain:
        value = _value(record, name)
        if operator == "=" and value != expected:
            return False
        if operator == "in" and value not in expected:
            return False
        if operator == ">" and not (value is not None and value > expected):
            return False
        if operator == ">=" and not (value is not None and value >= expected):
            return False
    return True


class OdooFault(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _execute(
    state: OdooState, model: str, method: str, args: list[Any], kwargs: dict[str, Any]
) -> Any:
    if model not in state.models:
        raise OdooFault("builtins.KeyError", f"Object {model} doesn't exist")
    records = state.models[model]
    if method in ("search", "search_read"):
        found = [r for r in records.values() if _matches(r, args[0])]
        if kwargs.get("order", "").startswith("write_date"):
            found.sort(key=lambda r: (r.get("write_date", ""), r["id"]))
        found = found[: kwargs.get("limit") or None]
        if method == "search":
            return [r["id"] for r in found]
        fields = kwargs.get("fields")
        return [
            {k: v for k, v in r.items() if not fields or k in fields or k == "id"} for r in found
        ]
    if method == "read":
        fields = kwargs.get("fields")
        return [
            {k: v for k, v in records[i].items() if not fields or k in fields or k == "id"}
            for i in args[0]
            if i in records
        ]
    if method == "create":
        values = dict(args[0])
        if model == "sale.order":
            if not isinstance(values.get("partner_id"), int):
                raise OdooFault("odoo.exceptions.ValidationError", "partner_id is required")
            values["state"] = "sale"
            values["order_line"] = [line[2] for line in values.get("order_line", [])]
        return state._create(model, values)
    if method == "action_cancel" and model == "sale.order":
        for record_id in args[0]:
            records[record_id]["state"] = "cancel"
        return True
    raise OdooFault("builtins.AttributeError", f"The method '{method}' does not exist on {model}")


def odoo_app(state: OdooState) -> Starlette:
    async def jsonrpc(request: Request) -> Response:
        state.calls += 1
        body = await request.json()
        params = body.get("params") or {}
        service, method, args = params.get("service"), params.get("method"), params.get("args", [])

        def result(value: Any) -> Response:
            return JSONResponse({"jsonrpc": "2.0", "id": body.get("id"), "result": value})

        def error(name: str, message: str) -> Response:
            return JSONResponse(
                {
                    "jsonrpc": "2.0",
                    "id": body.get("id"),
                    "error": {
                        "code": 200,
                        "message": "Odoo Server Error",
                        "data": {"name": name, "message": message},
                    },
                }
            )

        if service == "common" and method == "version":
            return result({"server_version": "17.0", "protocol_version": 1})
        if service == "common" and method == "authenticate":
            database, login, key = args[0], args[1], args[2]
            ok = (database, login, key) == (state.database, state.login, state.api_key)
            return result(UID if ok else False)
        if service == "object" and method == "execute_kw":
            database, uid, key, model, model_method = args[:5]
            call_args = args[5] if len(args) > 5 else []
            call_kwargs = args[6] if len(args) > 6 else {}
            if (database, uid, key) != (state.database, UID, state.api_key):
                return error("odoo.exceptions.AccessDenied", "Access Denied")
            try:
                return result(_execute(state, model, model_method, call_args, call_kwargs))
            except OdooFault as fault:
                return error(fault.name, fault.message)
        return error("werkzeug.exceptions.NotFound", f"unknown {service}.{method}")

    return Starlette(routes=[Route("/jsonrpc", jsonrpc, methods=["POST"])])


def odoo_emulator(
    database: str = "brand", login: str = "zhongtai", api_key: str = "odoo-key"
) -> tuple[LoopbackServer, OdooState]:
    state = OdooState(database=database, login=login, api_key=api_key)
    return LoopbackServer(odoo_app(state)), state
