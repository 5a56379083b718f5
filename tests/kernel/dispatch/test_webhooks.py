"""Signed webhooks over real HTTP, and the fault-injection test: the consumer is down
for a while, then back; no event is lost and, deduped by event id, none is duplicated."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict

import sqlalchemy as sa

from kernel.db import Database
from kernel.dispatch import Dispatcher, sign, verify
from kernel.outbox import outbox_event
from kernel.plugins import storage
from kernel.plugins.registry import PluginRegistry
from kernel.plugins.sealing import Sealer
from plugins.emulation import LoopbackServer
from tests.conftest import TenantFixture
from tests.kernel.dispatch.support import (
    WebhookReceiver,
    emit_changes,
    later,
    plugin_settings,
)


def test_signature_verifies_and_refuses_tampering_and_staleness() -> None:
    body = b'{"id":"1"}'
    now = int(time.time())
    headers = {"Zhongtai-Timestamp": str(now), "Zhongtai-Signature": sign("s3cret", now, body)}
    assert verify("s3cret", headers, body)
    assert not verify("s3cret", headers, b'{"id":"2"}')
    assert not verify("other", headers, body)
    assert not verify("s3cret", headers, body, now=now + 301)
    assert not verify("s3cret", {**headers, "Zhongtai-Timestamp": "soon"}, body)


async def register(db: Database, tenant_id: uuid.UUID, url: str) -> str:
    sealer = Sealer.from_settings(plugin_settings())
    async with db.unit_of_work(tenant_id) as session:
        _, secret = await storage.register_webhook(
            session, tenant_id, url=url, topics=["test.*"], sealer=sealer, allow_private=True
        )
    return secret


async def event_ids(db: Database, tenant_id: uuid.UUID) -> set[str]:
    async with db.unit_of_work(tenant_id) as session:
        rows = await session.scalars(
            sa.select(outbox_event.c.id).where(
                outbox_event.c.tenant_id == tenant_id, outbox_event.c.topic == "test.changed"
            )
        )
        return {str(i) for i in rows}


async def test_webhook_receives_signed_event(db: Database, tenant: TenantFixture) -> None:
    receiver = WebhookReceiver()
    async with LoopbackServer(receiver.app) as server:
        receiver.secret = await register(db, tenant.id, server.url + "/hook")
        await emit_changes(db, tenant.id, uuid.uuid4(), [7])
        subject = Dispatcher(db, registry=PluginRegistry(), settings=plugin_settings())
        report = await subject.run_once(tenant_id=tenant.id)
        await subject.aclose()
    assert report.delivered == 1 and receiver.rejected == 0
    (event,) = receiver.raw
    assert event["topic"] == "test.changed" and event["payload"]["seq"] == 7
    assert event["tenantId"] == str(tenant.id)


async def test_webhook_with_a_wrong_secret_is_refused_and_retried(
    db: Database, tenant: TenantFixture
) -> None:
    receiver = WebhookReceiver(secret="not-the-one-we-sign-with")
    async with LoopbackServer(receiver.app) as server:
        await register(db, tenant.id, server.url + "/hook")
        await emit_changes(db, tenant.id, uuid.uuid4(), [1])
        subject = Dispatcher(db, registry=PluginRegistry(), settings=plugin_settings())
        report = await subject.run_once(tenant_id=tenant.id)
        await subject.aclose()
    assert report.failed == 1 and receiver.rejected == 1 and receiver.raw == []
    async with db.unit_of_work(tenant.id) as session:
        health = await storage.health_of(session, tenant.id)
    (only,) = health.values()
    assert only.last_error == "PluginError: webhook answered HTTP 401"


async def test_consumer_down_then_back_loses_nothing_and_dedupes_to_exactly_once(
    db: Database, tenant: TenantFixture
) -> None:
    receiver = WebhookReceiver()
    server = LoopbackServer(receiver.app)
    await server.start()
    receiver.secret = await register(db, tenant.id, server.url + "/hook")
    subject = Dispatcher(
        db,
        registry=PluginRegistry(),
        settings=plugin_settings(dispatch_max_attempts=50, breaker_failure_threshold=3),
    )
    await server.stop()  # the consumer goes down

    things = [uuid.uuid4() for _ in range(3)]
    for thing in things:
        await emit_changes(db, tenant.id, thing, range(10))
    clock = later(0)
    for _ in range(6):  # down for a while: every attempt fails, the breaker opens
        await subject.run_once(clock, tenant_id=tenant.id)
        clock = later(90, clock)
    assert receiver.raw == []

    await server.start()  # back, but flaky: lost acks (duplicates) and 503s
    server.faults.lose_ack_next(3)
    server.faults.fail_next(2, status=503)
    for _ in range(40):
        await subject.run_once(clock, tenant_id=tenant.id)
        clock = later(90, clock)
        if len(receiver.deduped()) == 30 and not server.faults.ack_lost:
            break
    await subject.run_once(later(600, clock), tenant_id=tenant.id)
    await subject.aclose()
    await server.stop()

    unique = receiver.deduped()
    assert {e["id"] for e in unique} == await event_ids(db, tenant.id)  # none lost
    assert len(unique) == 30
    assert len(receiver.raw) > len(unique)  # the consumer did see duplicates
    by_thing: dict[str, list[int]] = defaultdict(list)
    for event in unique:
        by_thing[event["aggregateId"]].append(event["payload"]["seq"])
    assert all(seqs == list(range(10)) for seqs in by_thing.values())  # in order
    assert receiver.rejected == 0
    async with db.unit_of_work(tenant.id) as session:
        pending = await session.scalar(
            sa.text(
                "SELECT count(*) FROM store.delivery WHERE tenant_id = :t AND state <> 'delivered'"
            ),
            {"t": tenant.id},
        )
    assert pending == 0


async def test_production_dispatcher_refuses_a_webhook_that_resolves_to_loopback(
    db: Database, tenant: TenantFixture
) -> None:
    receiver = WebhookReceiver()
    async with LoopbackServer(receiver.app) as server:
        # Registered while private URLs were allowed (or the name's DNS changed since).
        receiver.secret = await register(db, tenant.id, f"http://localhost:{server.port}/hook")
        await emit_changes(db, tenant.id, uuid.uuid4(), [1])
        subject = Dispatcher(
            db,
            registry=PluginRegistry(),
            settings=plugin_settings(webhook_allow_private_urls=False),
        )
        report = await subject.run_once(tenant_id=tenant.id)
        await subject.aclose()
    assert report.failed == 1 and receiver.raw == []
    async with db.unit_of_work(tenant.id) as session:
        (health,) = (await storage.health_of(session, tenant.id)).values()
    assert (
        health.last_error
        == "PluginError: webhook host 'localhost' resolves to a non-public address"
    )


def test_malformed_headers_are_refused_never_raised() -> None:
    body = b'{"id":"1"}'
    now = int(time.time())
    good = sign("s3cret", now, body)
    for timestamp, signature in [
        ("²", good),  # isdigit() yet not int()
        ("١٧٠٠٠٠٠٠٠٠", good),  # Arabic-Indic digits
        (f" {now}", good),
        (str(now), "v1=é" + good[4:]),  # non-ASCII: compare_digest(str, str) raises
        (str(now), ""),
        ("", good),
    ]:
        headers = {"zhongtai-timestamp": timestamp, "zhongtai-signature": signature}
        assert verify("s3cret", headers, body) is False, (timestamp, signature)
    assert verify("s3cret", {"ZHONGTAI-TIMESTAMP": str(now), "zhongtai-signature": good}, body)
