"""In-transaction event handlers run inside ``emit`` and share its fate."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel import outbox
from kernel.db import Database
from schema.subgraphs import SUBGRAPHS
from tests.conftest import TenantFixture


@dataclasses.dataclass(frozen=True)
class Pinged:
    topic: ClassVar[str] = "test.pinged"
    thing_id: uuid.UUID

    @property
    def aggregate_id(self) -> uuid.UUID:
        return self.thing_id


seen: list[Mapping[str, Any]] = []


async def _on_ping(session: AsyncSession, tenant_id: uuid.UUID, payload: Mapping[str, Any]) -> None:
    seen.append(payload)
    if payload["thing_id"] == str(FAILING):
        raise RuntimeError("handler refuses")


FAILING = uuid.UUID(int=7)


@pytest.fixture
def ping_handler() -> Iterator[None]:
    outbox.install_event_handlers(
        [*(s.event_handlers for s in SUBGRAPHS), {Pinged.topic: _on_ping}]
    )
    seen.clear()
    yield
    outbox.install_event_handlers([s.event_handlers for s in SUBGRAPHS])


async def _events(db: Database, tenant_id: uuid.UUID) -> int:
    async with db.unit_of_work() as session:
        count = await session.scalar(
            sa.select(sa.func.count())
            .select_from(outbox.outbox_event)
            .where(
                outbox.outbox_event.c.tenant_id == tenant_id,
                outbox.outbox_event.c.topic == Pinged.topic,
            )
        )
        return int(count or 0)


@pytest.mark.usefixtures("ping_handler")
async def test_handler_sees_payload_in_emitting_transaction(
    db: Database, tenant: TenantFixture
) -> None:
    thing = uuid.uuid4()
    async with db.unit_of_work() as session:
        await outbox.emit(session, tenant.id, Pinged(thing))
    assert seen == [{"thing_id": str(thing)}]
    assert await _events(db, tenant.id) == 1


@pytest.mark.usefixtures("ping_handler")
async def test_failing_handler_aborts_the_emitter(db: Database, tenant: TenantFixture) -> None:
    with pytest.raises(RuntimeError):
        async with db.unit_of_work() as session:
            await outbox.emit(session, tenant.id, Pinged(FAILING))
    assert await _events(db, tenant.id) == 0
