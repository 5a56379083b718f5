"""The transactional outbox: events are rows written in the same transaction as the
change they describe, so a committed change never loses its event and a rolled-back
one never publishes. Delivery to subscribers is the dispatcher's job.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

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


async def emit(session: AsyncSession, tenant_id: uuid.UUID, event: Event) -> uuid.UUID:
    """Write ``event`` to the outbox inside the caller's transaction; returns its id."""
    event_id = new_id()
    await session.execute(
        _INSERT,
        {
            "tenant_id": tenant_id,
            "id": event_id,
            "topic": event.topic,
            "aggregate_id": event.aggregate_id,
            "payload": event_payload(event),
            "occurred_at": datetime.now(UTC),
        },
    )
    return event_id


def payload_json(event: Event) -> str:
    return json.dumps(event_payload(event), sort_keys=True)
