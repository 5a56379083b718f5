"""The tenant's carrier: the enabled plugin that plays ``fulfillment.CarrierGateway``,
built for one call and closed after it.

The center calls the carrier directly (not from the outbox), so every failure of the
carrier — down, 5xx, hanging past the call timeout, garbage — becomes a
``CARRIER_UNAVAILABLE`` user error for the caller to retry, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from centers.fulfillment.ports import CarrierGateway
from kernel.errors import UserInputError
from kernel.plugins import storage
from kernel.plugins.manifest import PluginContext, PluginManifest
from kernel.plugins.registry import PluginRegistry, default_registry
from kernel.plugins.sealing import Sealer
from kernel.plugins.settings import get_plugin_settings

PORT = "fulfillment.CarrierGateway"
T = TypeVar("T")


def registry() -> PluginRegistry:
    return default_registry()


def _not_configured(message: str) -> UserInputError:
    return UserInputError(message, code="CARRIER_NOT_CONFIGURED", field=["input", "plugin"])


async def _choose(
    session: AsyncSession, tenant_id: uuid.UUID, plugin: str | None
) -> tuple[PluginManifest, storage.Installation]:
    carriers = {m.name: m for m in registry().all() if PORT in m.ports}
    enabled = [
        i
        for i in await storage.list_installations(session, tenant_id)
        if i.enabled and i.plugin in carriers
    ]
    if plugin is not None:
        enabled = [i for i in enabled if i.plugin == plugin]
        if not enabled:
            raise _not_configured(f"no enabled carrier plugin named {plugin!r}")
    if not enabled:
        raise _not_configured("enable a carrier plugin (e.g. carrier-rest) first")
    if len(enabled) > 1:
        raise UserInputError(
            "several carrier plugins are enabled; name one in plugin",
            code="CARRIER_AMBIGUOUS",
            field=["input", "plugin"],
        )
    return carriers[enabled[0].plugin], enabled[0]


@asynccontextmanager
async def gateway(
    session: AsyncSession, tenant_id: uuid.UUID, plugin: str | None = None
) -> AsyncIterator[Carrier]:
    """The tenant's carrier for the calls of one operation."""
    manifest, installation = await _choose(session, tenant_id, plugin)
    timeout = get_plugin_settings().plugin_call_timeout_seconds
    try:
        settings = storage.open_settings(
            manifest, installation, Sealer.from_settings(get_plugin_settings())
        )
        built = manifest.factory(
            PluginContext(tenant_id=tenant_id, settings=settings, call_timeout=timeout)
        )
    except Exception as error:  # its stored settings no longer validate, or it is broken
        raise _not_configured(f"cannot build {manifest.name}: {type(error).__name__}") from None
    if not all(callable(getattr(built, m, None)) for m in ("book_courier", "tracking_events")):
        with contextlib.suppress(Exception):
            await built.aclose()
        raise _not_configured(f"{manifest.name} does not implement {PORT}")
    try:
        yield Carrier(manifest.name, cast(CarrierGateway, built), timeout)
    finally:
        # Closing a broken plugin may fail too; the call's outcome stands.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(built.aclose(), timeout)


class Carrier:
    """A carrier gateway whose calls end within the call timeout, failures as user errors."""

    def __init__(self, name: str, port: CarrierGateway, timeout: float) -> None:
        self.name = name
        self.port = port
        self.timeout = timeout

    async def call(self, work: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(work, self.timeout)
        except TimeoutError:
            raise UserInputError(
                f"{self.name}: the carrier did not answer within {self.timeout:g}s; try again",
                code="CARRIER_UNAVAILABLE",
                field=["input", "shipmentId"],
            ) from None
        except UserInputError:
            raise
        except Exception as error:  # the carrier's failure is the answer, not our crash
            raise UserInputError(
                f"{self.name}: {str(error) or type(error).__name__}"[:300],
                code="CARRIER_UNAVAILABLE",
                field=["input", "shipmentId"],
            ) from None
