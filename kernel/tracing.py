"""OpenTelemetry traces: HTTP request → GraphQL operation → SQL → plugin HTTP calls,
jobs, and outbox deliveries linked to the operation that wrote their event.

Configured by the standard ``OTEL_*`` environment variables (``docs/operations.md``):
tracing is on when an OTLP endpoint or ``OTEL_TRACES_EXPORTER`` is set, and then the
SDK exports through OTLP/HTTP. With none of them set nothing is instrumented, and the
hooks below return at their first test (``_tracer is None``), so tracing costs nothing.

Spans come from the instrumentation packages where one exists: the ASGI middleware
(HTTP server span), asyncpg (every statement, the SQLAlchemy ones and the raw ones of
``kernel.prepared`` alike) and httpx (every outgoing call, with W3C ``traceparent``
injected). This module adds the spans no library knows about: the GraphQL operation,
a job, an outbox delivery.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Link, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.applications import Starlette

# Any of these turns tracing on (the OTLP exporter reads the rest of OTEL_* itself).
ENABLING_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_TRACES_EXPORTER",
)
# Probes and scrapes would drown the traces that matter.
EXCLUDED_URLS = "/health,/ready,/metrics,/graphiql/"

_tracer: Tracer | None = None
_provider: TracerProvider | None = None
_configured = False
_propagator = TraceContextTextMapPropagator()


def requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the ``OTEL_*`` environment asks for traces."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in ENABLING_VARIABLES)


def _exporter(environ: Mapping[str, str]) -> SpanExporter:
    kind = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if kind == "console":
        return ConsoleSpanExporter()
    if kind not in ("otlp", "otlp_proto_http"):
        raise ValueError(
            f"OTEL_TRACES_EXPORTER={kind!r} is not supported here: use otlp, console or none"
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout from OTEL_EXPORTER_OTLP_*


def configure(environ: Mapping[str, str] = os.environ) -> TracerProvider | None:
    """Set up tracing once per process if the environment asks for it; returns the
    provider, or ``None`` when tracing is off."""
    global _configured
    if _configured:
        return _provider
    _configured = True
    if not requested(environ):
        return None
    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; without
    # either the SDK says "unknown_service", and we say "zhongtai".
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "zhongtai"}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(_exporter(environ)))
    trace.set_tracer_provider(provider)
    install(provider)
    return provider


def install(provider: TracerProvider) -> None:
    """Instrument asyncpg and httpx and trace our own spans with ``provider`` (tests use
    one with an in-memory exporter)."""
    global _tracer, _provider
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _provider = provider
    _tracer = provider.get_tracer("zhongtai")


def uninstall() -> None:
    """Undo ``install`` (tests)."""
    global _tracer, _provider
    AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
    HTTPXClientInstrumentor().uninstrument()
    _tracer = None
    _provider = None


def provider() -> TracerProvider | None:
    """The provider traces go to, or ``None`` when tracing is off."""
    return _provider


def add_asgi_middleware(app: Starlette) -> None:
    """Trace ``app``'s HTTP requests (server spans, incoming ``traceparent``) with the
    OpenTelemetry ASGI middleware; nothing when tracing is off."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    app.add_middleware(
        OpenTelemetryMiddleware, excluded_urls=EXCLUDED_URLS, tracer_provider=_provider
    )


def operation_span(
    operation_type: str, operation_name: str | None, tenant_id: object
) -> contextlib.AbstractContextManager[Any]:
    """The span of one GraphQL operation: ``mutation placeOrder``, with the tenant."""
    if _tracer is None:
        return contextlib.nullcontext()
    name = operation_name or "anonymous"
    return _tracer.start_as_current_span(
        f"{operation_type} {name}",
        kind=SpanKind.INTERNAL,
        attributes={
            "graphql.operation.type": operation_type,
            "graphql.operation.name": name,
            "zhongtai.tenant_id": str(tenant_id),
        },
    )


def job_span(
    kind: str, tenant_id: object, job_id: object
) -> contextlib.AbstractContextManager[Any]:
    """The span of one run of a durable job."""
    if _tracer is None:
        return contextlib.nullcontext()
    return _tracer.start_as_current_span(
        f"job {kind}",
        kind=SpanKind.CONSUMER,
        attributes={
            "zhongtai.job.kind": kind,
            "zhongtai.job.id": str(job_id),
            "zhongtai.tenant_id": str(tenant_id),
        },
    )


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or ``None`` (tracing off, no span).
    Stored with each outbox event so its delivery joins the writer's trace."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


@contextlib.contextmanager
def delivery_span(
    topic: str, subscriber: str, tenant_id: object, event_id: object, traceparent: str | None
) -> Iterator[Any]:
    """The span of one delivery attempt of an outbox event to a subscriber: a child of,
    and linked to, the span that wrote the event (its stored ``traceparent``)."""
    if _tracer is None:
        yield None
        return
    parent = (
        _propagator.extract({"traceparent": traceparent}) if traceparent else otel_context.Context()
    )
    writer = trace.get_current_span(parent).get_span_context()
    links = [Link(writer, {"zhongtai.link": "event writer"})] if writer.is_valid else []
    with _tracer.start_as_current_span(
        f"deliver {topic}",
        context=parent,
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": "zhongtai.outbox",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.message.id": str(event_id),
            "zhongtai.subscriber": subscriber,
            "zhongtai.tenant_id": str(tenant_id),
        },
    ) as span:
        yield span


def record_failure(span: Any, description: str) -> None:
    """Mark ``span`` (from ``delivery_span``/``job_span``; ``None`` when off) as failed."""
    if span is not None:
        span.set_status(trace.Status(trace.StatusCode.ERROR, description))
