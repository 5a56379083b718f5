"""The transactional outbox: events are rows written in the same transaction as the
change they describe, so a committed change never loses its event and a rolled-back
one never publishes. Delivery to subscribers is the dispatcher's job.

In-transaction handlers are the other kind of subscriber: a center registers them (through
its ``Subgraph``) for a topic, and ``emit`` awaits them in the emitting transaction, so
one center reacts to another's change atomically without importing it (payment captures
→ the order becomes paid, in the same commit). A handler that raises aborts the emitter.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.batch import Batch
from kernel.ids import new_id

metadata = sa.MetaData(schema="kernel")

outbox_event = sa.Table(
    "outbox_event",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("topic", sa.String(100), nullable=False),
    sa.Column("aggregate_id", sa.Uuid, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    # Filled by the column default from the transaction (migration kernel_0007).
    sa.Column("trace_parent", sa.Text, nullable=True),
)


_INSERT = outbox_event.insert()


class Event(Protocol):
    """A center's event: a frozen dataclass with a ``topic`` and an aggregate id."""

    topic: ClassVar[str]

    @property
    def aggregate_id(self) -> uuid.UUID: ...


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def event_payload(event: Event) -> dict[str, Any]:
    if not dataclasses.is_dataclass(event) or isinstance(event, type):
        raise TypeError("events are dataclass instances")
    payload: dict[str, Any] = _jsonable(event)
    return payload


EventHandler = Callable[[AsyncSession, uuid.UUID, Mapping[str, Any]], Awaitable[None]]

_handlers: dict[str, tuple[EventHandler, ...]] = {}


def install_event_handlers(registrations: Sequence[Mapping[str, EventHandler]]) -> None:
    """Replace the process's in-transaction handlers (the composition root calls this)."""
    merged: dict[str, tuple[EventHandler, ...]] = {}
    for registration in registrations:
        for topic, handler in registration.items():
            merged[topic] = (*merged.get(topic, ()), handler)
    _handlers.clear()
    _handlers.update(merged)


async def emit(session: AsyncSession, tenant_id: uuid.UUID, event: Event) -> uuid.UUID:
    """Write ``event`` to the outbox inside the caller's transaction and run the
    in-transaction handlers of its topic; returns the event id."""
    event_id = new_id()
    payload = event_payload(event)
    await session.execute(
        _INSERT,
        {
            "tenant_id": tenant_id,
            "id": event_id,
            "topic": event.topic,
            "aggregate_id": event.aggregate_id,
            "payload": payload,
            "occurred_at": datetime.now(UTC),
        },
    )
    for handler in _handlers.get(event.topic, ()):
        await handler(session, tenant_id, payload)
    return event_id


def emit_in(
    batch: Batch, tenant_id: uuid.UUID, event: Event, *, when: str = "true"
) -> dict[str, Any]:
    """``emit``'s outbox row as a part of ``batch`` (written if ``when`` holds there);
    returns the payload. After the batch ran, call ``run_handlers`` with it."""
    payload = event_payload(event)
    name = batch.fresh("outbox")
    batch.add(
        name,
        "INSERT INTO kernel.outbox_event (tenant_id, id, topic, aggregate_id, payload, occurred_at)"
        f" SELECT {batch.arg(tenant_id, 'uuid')}, {batch.arg(new_id(), 'uuid')},"
        f" {batch.arg(event.topic, 'text')}, {batch.arg(event.aggregate_id, 'uuid')},"
        f" {batch.arg(json.dumps(payload), 'json')}, {batch.arg(datetime.now(UTC), 'timestamptz')}"
        f" WHERE {when}",
    )
    return payload


async def run_handlers(
    session: AsyncSession, tenant_id: uuid.UUID, topic: str, payload: Mapping[str, Any]
) -> None:
    """The in-transaction handlers of an event written by ``emit_in``."""
    for handler in _handlers.get(topic, ()):
        await handler(session, tenant_id, payload)


def payload_json(event: Event) -> str:
    return json.dumps(event_payload(event), sort_keys=True)
