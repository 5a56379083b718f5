"""The plugin contract suite: what every adapter must do, runnable by any third-party
adapter against itself and its backend emulator.

Subclass :class:`PluginContract` in a test module (the class name must start with
``Test`` so pytest collects it), fill in the five hooks, and run pytest::

    class TestMyErpContract(PluginContract):
        manifest = MANIFEST

        async def start_backend(self) -> dict[str, Any]: ...   # start the emulator; settings
        async def stop_backend(self) -> None: ...
        def sample_events(self, tenant_id) -> list[DeliveredEvent]: ...
        async def backend_received(self) -> int: ...           # distinct events it holds
        def inject(self, fault: str) -> None: ...              # "5xx", "hang" (next request)

A plugin that plays ``fulfillment.CarrierGateway`` (the center calls it directly) also
fills in ``carrier_publishes(tracking_number, events)`` (the carrier records tracking
events, each given twice and out of order) and ``carrier_bookings()`` (how many
couriers the carrier holds); the carrier tests skip for other plugins.

Requires ``pytest`` and ``pytest-asyncio`` (``asyncio_mode = "auto"``).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, cast

import pytest
from pydantic import BaseModel, SecretStr

from centers.fulfillment.dto import CourierBookingRequest, TrackingEvent
from kernel.plugins.manifest import (
    CallbackPlugin,
    CallbackRequest,
    DeliveredEvent,
    Plugin,
    PluginContext,
    PluginManifest,
    PullingPlugin,
    secret_fields,
)

CARRIER_PORT = "fulfillment.CarrierGateway"
VERSION = re.compile(r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")
CALL_TIMEOUT = 0.5


def port_protocol(port: str) -> type:
    """The Protocol a ``"<center>.<Name>"`` port names (raises if there is none)."""
    center, name = port.split(".", 1)
    module = importlib.import_module(f"centers.{center}.ports")
    found = getattr(module, name, None)
    if not (inspect.isclass(found) and getattr(found, "_is_protocol", False)):
        raise LookupError(f"centers/{center}/ports.py declares no Protocol {name}")
    return found


class PluginContract:
    """Base of a plugin's contract tests; see the module docstring."""

    manifest: ClassVar[PluginManifest]

    async def start_backend(self) -> dict[str, Any]:
        """Start the backend emulator; return valid settings pointing at it."""
        raise NotImplementedError

    async def stop_backend(self) -> None:
        raise NotImplementedError

    def sample_events(self, tenant_id: uuid.UUID) -> list[DeliveredEvent]:
        """Events of the plugin's topics as the dispatcher would deliver them."""
        raise NotImplementedError

    async def backend_received(self) -> int:
        """How many distinct events (by id) the backend holds."""
        raise NotImplementedError

    def inject(self, fault: str) -> None:
        """Make the next backend request fail: ``"5xx"`` or ``"hang"`` (longer than a
        call timeout)."""
        raise NotImplementedError

    # Carrier hooks (only for plugins that play fulfillment.CarrierGateway) -------------

    def carrier_publishes(self, tracking_number: str, events: list[TrackingEvent]) -> None:
        """Make the carrier hold ``events`` for ``tracking_number``, each twice and in
        any order (carriers repeat themselves)."""
        raise NotImplementedError

    def carrier_bookings(self) -> int:
        """How many couriers (distinct bookings) the carrier holds."""
        raise NotImplementedError

    # Fixtures -------------------------------------------------------------------------

    @pytest.fixture
    async def settings(self) -> AsyncIterator[dict[str, Any]]:
        given = await self.start_backend()
        try:
            yield given
        finally:
            await self.stop_backend()

    @pytest.fixture
    async def plugin(self, settings: dict[str, Any]) -> AsyncIterator[Plugin]:
        model = self.manifest.settings_model.model_validate(settings)
        instance = self.manifest.factory(
            PluginContext(tenant_id=uuid.uuid4(), settings=model, call_timeout=CALL_TIMEOUT)
        )
        try:
            yield instance
        finally:
            await instance.aclose()

    def _events(self) -> list[DeliveredEvent]:
        events = self.sample_events(uuid.uuid4())
        if not events:
            pytest.skip(f"{self.manifest.name} receives no events (it only pulls)")
        return events

    # The contract ---------------------------------------------------------------------

    def test_manifest_names_itself_and_its_version(self) -> None:
        assert re.match(r"^[a-z][a-z0-9-]{1,62}$", self.manifest.name)
        assert VERSION.match(self.manifest.version), "version must be semantic (1.2.3)"
        assert self.manifest.title.strip()

    def test_every_port_is_a_center_protocol(self) -> None:
        assert self.manifest.ports, "a plugin implements at least one center port"
        for port in self.manifest.ports:
            port_protocol(port)

    def test_every_port_is_served_by_a_topic_or_a_pull(self) -> None:
        for port in self.manifest.ports:
            center = port.split(".", 1)[0]
            by_topic = any(t == "*" or t.startswith(center + ".") for t in self.manifest.topics)
            assert by_topic or self.manifest.pull_interval_seconds > 0, (
                f"{port}: subscribe to {center}.* topics or pull"
            )

    def test_settings_model_is_pydantic_with_secret_strings(self) -> None:
        model = self.manifest.settings_model
        assert issubclass(model, BaseModel)
        model.model_json_schema()  # the admin API shows it
        assert secret_fields(model) == self.manifest.secret_fields

    async def test_valid_settings_validate_and_secrets_stay_hidden(
        self, settings: dict[str, Any]
    ) -> None:
        model = self.manifest.settings_model.model_validate(settings)
        dumped = str(model.model_dump(mode="json"))
        for name in self.manifest.secret_fields:
            value = getattr(model, name)
            assert isinstance(value, SecretStr | None)
            if isinstance(value, SecretStr) and value.get_secret_value():
                assert value.get_secret_value() not in dumped

    def test_empty_settings_are_refused_or_complete(self) -> None:
        try:
            self.manifest.settings_model.model_validate({})
        except ValueError:
            return  # required settings: enabling without them is refused
        # Otherwise every setting has a default; that is a valid plugin too.

    async def test_instance_implements_the_hooks(self, plugin: Plugin) -> None:
        assert isinstance(plugin, Plugin)
        for hook in ("handle_event", "check_health", "aclose"):
            assert inspect.iscoroutinefunction(getattr(plugin, hook)), f"{hook} must be async"
        if self.manifest.pull_interval_seconds > 0:
            assert isinstance(plugin, PullingPlugin), "a pulling plugin implements pull()"
            assert inspect.iscoroutinefunction(plugin.pull)

    async def test_health_check_passes_against_a_healthy_backend(self, plugin: Plugin) -> None:
        await plugin.check_health()

    async def test_each_event_reaches_the_backend(self, plugin: Plugin) -> None:
        events = self._events()
        for event in events:
            returned: object = await cast(Awaitable[object], plugin.handle_event(event))
            assert returned is None, "handle_event returns None (or raises)"
        assert await self.backend_received() == len(events)

    async def test_redelivery_is_idempotent_by_event_id(self, plugin: Plugin) -> None:
        events = self._events()
        for event in events + events:
            await plugin.handle_event(event)
        assert await self.backend_received() == len(events)

    async def _probe(self, plugin: Plugin) -> None:
        """One call to the backend: the first sample event, or a health check for a
        plugin that receives no events."""
        events = self.sample_events(uuid.uuid4())
        if events:
            await plugin.handle_event(events[0])
        else:
            await plugin.check_health()

    async def test_backend_error_raises_so_the_dispatcher_retries(self, plugin: Plugin) -> None:
        self.inject("5xx")
        with pytest.raises(Exception):  # noqa: B017 - any exception means "retry"
            await self._probe(plugin)
        await self._probe(plugin)  # and the retry goes through

    async def test_hanging_backend_fails_within_the_call_timeout(self, plugin: Plugin) -> None:
        self.inject("hang")
        started = time.perf_counter()
        with pytest.raises(Exception):  # noqa: B017
            await asyncio.wait_for(self._probe(plugin), CALL_TIMEOUT * 8)
        assert time.perf_counter() - started < CALL_TIMEOUT * 5, "honour PluginContext.call_timeout"

    async def test_unauthenticated_callback_is_refused_before_anything_else(
        self, plugin: Plugin
    ) -> None:
        if not isinstance(plugin, CallbackPlugin):
            pytest.skip(f"{self.manifest.name} takes no callbacks")
        forged = CallbackRequest(
            method="POST",
            headers={"content-type": "application/json"},
            query={},
            body=b'{"order_id": "00000000-0000-0000-0000-000000000000", "status": "accepted"}',
        )
        # No inbound: a plugin that touches the database before checking the signature
        # fails here.
        answer = await plugin.handle_callback(forged, None)
        assert answer.status == 401

    async def test_unreachable_backend_fails_health_and_delivery(
        self, settings: dict[str, Any]
    ) -> None:
        model = self.manifest.settings_model.model_validate(settings)
        plugin = self.manifest.factory(
            PluginContext(tenant_id=uuid.uuid4(), settings=model, call_timeout=CALL_TIMEOUT)
        )
        await self.stop_backend()
        try:
            with pytest.raises(Exception):  # noqa: B017
                await plugin.check_health()
            events = self.sample_events(uuid.uuid4())
            if events:
                with pytest.raises(Exception):  # noqa: B017
                    await plugin.handle_event(events[0])
        finally:
            await plugin.aclose()
            await plugin.aclose()  # closing twice is harmless

    # The CarrierGateway port (a center calls it directly) ----------------------------

    def _carrier(self, plugin: Plugin) -> Any:
        if CARRIER_PORT not in self.manifest.ports:
            pytest.skip(f"{self.manifest.name} plays no {CARRIER_PORT}")
        return plugin

    @staticmethod
    def booking_request() -> CourierBookingRequest:
        return CourierBookingRequest(
            shipment_id=uuid.uuid4(),
            store_id=uuid.uuid4(),
            receiver_name="Li Lei",
            receiver_phone="13800000000",
            receiver_address="1 Nanjing Rd, Shanghai",
            ready_at=None,
        )

    async def test_carrier_implements_the_port_asynchronously(self, plugin: Plugin) -> None:
        carrier = self._carrier(plugin)
        for method in ("book_courier", "tracking_events"):
            assert inspect.iscoroutinefunction(getattr(carrier, method, None)), (
                f"{method} must be async"
            )

    async def test_booking_a_shipment_twice_returns_the_same_booking(self, plugin: Plugin) -> None:
        carrier = self._carrier(plugin)
        request = self.booking_request()
        first = await carrier.book_courier(request)
        again = await carrier.book_courier(request)
        assert first.tracking_number and first.carrier
        assert (again.carrier, again.tracking_number) == (first.carrier, first.tracking_number)
        assert self.carrier_bookings() == 1, "one courier per shipment id"
        other = await carrier.book_courier(self.booking_request())
        assert other.tracking_number != first.tracking_number

    async def test_unknown_tracking_number_has_no_events(self, plugin: Plugin) -> None:
        carrier = self._carrier(plugin)
        assert list(await carrier.tracking_events("UNKNOWN-0000")) == []

    async def test_tracking_events_come_once_each_oldest_first(self, plugin: Plugin) -> None:
        carrier = self._carrier(plugin)
        booking = await carrier.book_courier(self.booking_request())
        assert list(await carrier.tracking_events(booking.tracking_number)) == []
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        published = [
            TrackingEvent(start, "courier assigned", None),
            TrackingEvent(start + timedelta(minutes=5), "picked up", "Store 1"),
            TrackingEvent(start + timedelta(minutes=30), "delivered", "1 Nanjing Rd"),
        ]
        self.carrier_publishes(booking.tracking_number, published)
        got = list(await carrier.tracking_events(booking.tracking_number))
        assert got == published
        assert all(e.occurred_at.tzinfo is not None for e in got), "times carry a time zone"

    async def test_carrier_error_on_booking_raises_and_the_retry_books_once(
        self, plugin: Plugin
    ) -> None:
        carrier = self._carrier(plugin)
        request = self.booking_request()
        self.inject("5xx")
        with pytest.raises(Exception):  # noqa: B017 - the center reports any failure
            await carrier.book_courier(request)
        await carrier.book_courier(request)
        await carrier.book_courier(request)
        assert self.carrier_bookings() == 1

    async def test_hanging_carrier_fails_a_booking_within_the_call_timeout(
        self, plugin: Plugin
    ) -> None:
        carrier = self._carrier(plugin)
        self.inject("hang")
        started = time.perf_counter()
        with pytest.raises(Exception):  # noqa: B017
            await asyncio.wait_for(carrier.book_courier(self.booking_request()), CALL_TIMEOUT * 8)
        assert time.perf_counter() - started < CALL_TIMEOUT * 5, "honour PluginContext.call_timeout"
