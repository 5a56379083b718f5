"""Traces: a placeOrder is one trace from the HTTP request through the GraphQL operation
and its SQL statements to the ERP delivery the order causes, whose HTTP call carries the
trace to the ERP in a W3C ``traceparent`` header. The SDK's in-memory exporter holds
the spans; the ERP is the emulator, a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from kernel import tracing
from kernel.app import create_app
from kernel.dispatch import Dispatcher
from kernel.plugins.registry import PluginRegistry
from kernel.settings import Settings
from plugins.emulation import LoopbackServer
from plugins.erp.rest import MANIFEST
from plugins.erp.rest_emulator import ErpState, erp_app
from schema.subgraphs import served_api
from tests.builders import open_shop
from tests.centers.order.test_place_order import PLACE, order_input
from tests.conftest import TenantFixture, gql
from tests.kernel.dispatch.support import plugin_settings
from tests.plugins.erp.test_rest import connect

ROOT = Path(__file__).resolve().parents[2]
PLACE_NAMED = PLACE.replace("mutation(", "mutation PlaceOrder(", 1)


@pytest.fixture
async def traced(settings: Settings) -> AsyncIterator[tuple[Starlette, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        app = create_app(served_api(), settings)
        async with app.router.lifespan_context(app):
            yield app, exporter
    finally:
        tracing.uninstall()
        provider.shutdown()


class _Headers:
    """An ASGI wrapper keeping the ``traceparent`` of every request the ERP receives."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.traceparents: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"traceparent":
                    self.traceparents.append(value.decode())
        await self.app(scope, receive, send)


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [
        s
        for s in spans
        if s.parent is not None and s.parent.span_id == parent.context.span_id  # type: ignore[union-attr]
    ]


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


async def test_place_order_is_one_trace_down_to_the_erp_call(
    traced: tuple[Starlette, InMemorySpanExporter], tenant: TenantFixture
) -> None:
    app, exporter = traced
    erp_state = ErpState(api_key="erp-key")
    recorder = _Headers(erp_app(erp_state))
    transport = httpx.ASGITransport(app=app)
    async with (
        LoopbackServer(recorder) as erp,
        httpx.AsyncClient(transport=transport, base_url="http://zhongtai.test") as client,
    ):
        await connect(client, tenant, erp.url)
        shop = await open_shop(tenant)
        token = await tenant.token("tenant_admin")
        # This app caches policies apart from the session's runtime the fixture refreshed.
        app.state.runtime.policies.invalidate(tenant.id)
        exporter.clear()
        placed = await gql(client, token, PLACE_NAMED, order_input(shop, [1, 2]))
        assert placed["data"] and placed["data"]["placeOrder"]["userErrors"] == [], placed
        order_id = placed["data"]["placeOrder"]["order"]["id"]
        dispatcher = Dispatcher(
            app.state.runtime.db, registry=PluginRegistry([MANIFEST]), settings=plugin_settings()
        )
        await dispatcher.run_once(tenant_id=tenant.id)
        await dispatcher.aclose()
    assert order_id in erp_state.orders

    spans = list(exporter.get_finished_spans())
    server = next(
        s
        for s in spans
        if s.kind == SpanKind.SERVER and s.name == "POST /graphql" and s.parent is None
    )
    trace_id = server.context.trace_id
    in_trace = [s for s in spans if s.context.trace_id == trace_id]

    operation = _one(in_trace, "mutation PlaceOrder")
    assert operation.parent is not None and operation.parent.span_id == server.context.span_id
    attributes: dict[str, Any] = dict(operation.attributes or {})
    assert attributes["graphql.operation.type"] == "mutation"
    assert attributes["graphql.operation.name"] == "PlaceOrder"
    assert attributes["zhongtai.tenant_id"] == str(tenant.id)

    statements = [s for s in _children(in_trace, operation) if s.kind == SpanKind.CLIENT]
    assert statements, "no SQL span under the operation"
    assert all((s.attributes or {}).get("db.system") == "postgresql" for s in statements)
    assert any(s.name == "INSERT" for s in statements)

    delivery = _one(in_trace, "deliver order.placed")
    assert delivery.kind == SpanKind.CONSUMER
    assert delivery.parent is not None and delivery.parent.span_id == operation.context.span_id
    assert [link.context.span_id for link in delivery.links] == [operation.context.span_id]
    assert (delivery.attributes or {})["zhongtai.subscriber"] == "plugin:erp-rest"

    calls = [s for s in _children(in_trace, delivery) if s.kind == SpanKind.CLIENT]
    assert calls and all(s.name == "POST" for s in calls)
    # version-trace id-parent id-flags: the ERP saw this trace, its parent the HTTP call.
    sent = {f"00-{trace_id:032x}-{call.context.span_id:016x}" for call in calls}
    received = {header.rsplit("-", 1)[0] for header in recorder.traceparents}
    assert sent & received, (sent, recorder.traceparents)


async def test_tracing_is_off_without_otel_variables() -> None:
    assert not tracing.requested({})
    assert not tracing.requested({"OTEL_SERVICE_NAME": "zhongtai"})
    assert tracing.requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert not tracing.requested(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}
    )
    assert not tracing.requested({"OTEL_TRACES_EXPORTER": "none"})
    assert tracing.provider() is None  # the test session sets no OTEL_* variable
    assert tracing.current_traceparent() is None


async def test_events_written_without_tracing_carry_no_trace(
    client: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shop = await open_shop(tenant)
    token = await tenant.token("tenant_admin")
    placed = await gql(client, token, PLACE_NAMED, order_input(shop, [1]))
    order_id = uuid.UUID(placed["data"]["placeOrder"]["order"]["id"])
    async with tenant.runtime.db.unit_of_work() as session:
        rows = (
            await session.execute(
                sa.text(
                    "SELECT trace_parent FROM kernel.outbox_event"
                    " WHERE tenant_id = :tenant AND aggregate_id = :order"
                ),
                {"tenant": tenant.id, "order": order_id},
            )
        ).all()
    assert rows and all(row[0] is None for row in rows)


async def test_otlp_exporter_follows_the_standard_variables() -> None:
    """A process with only ``OTEL_EXPORTER_OTLP_ENDPOINT`` and ``OTEL_SERVICE_NAME`` set
    exports its spans over OTLP/HTTP to that endpoint (a receiver on loopback here)."""
    received: list[ExportTraceServiceRequest] = []

    async def traces(request: Request) -> Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.body())
        received.append(message)
        return Response(b"", media_type="application/x-protobuf")

    receiver = LoopbackServer(Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])]))
    script = (
        "from kernel import tracing\n"
        "provider = tracing.configure()\n"
        "with tracing.operation_span('mutation', 'PlaceOrder', 'tenant-1'):\n"
        "    pass\n"
        "provider.shutdown()\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        "OTEL_EXPORTER_OTLP_ENDPOINT": "",
        "OTEL_SERVICE_NAME": "zhongtai-test",
    }
    async with receiver:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.url
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, env=env, cwd=ROOT
        )
        assert await asyncio.wait_for(process.wait(), 120) == 0
    spans = [
        (span, resource.resource)
        for message in received
        for resource in message.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert [span.name for span, _ in spans] == ["mutation PlaceOrder"]
    service = {a.key: a.value.string_value for a in spans[0][1].attributes}["service.name"]
    assert service == "zhongtai-test"
