"""Choosing a tenant's payment provider: a small registry of adapter factories.

A provider adapter (a plugin implementing ``ports.PaymentProvider``) registers a
factory under its name, either by calling ``register_provider`` at start-up or through
the entry-point group ``zhongtai.payment_providers`` (discovered on first use). A
tenant's merchant account (settings plus a secret sealed at rest with the plugin
sealing keys) is stored here; ``provider_for`` builds the adapter for one tenant.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib.metadata import entry_points

from sqlalchemy.ext.asyncio import AsyncSession

from centers.payment import repository
from centers.payment.dto import ProviderAccountSettings
from centers.payment.ports import PaymentProvider
from kernel.errors import UserInputError
from kernel.plugins.sealing import Sealer

ProviderFactory = Callable[[ProviderAccountSettings], PaymentProvider]
ENTRY_POINT_GROUP = "zhongtai.payment_providers"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")

_factories: dict[str, ProviderFactory] = {}
_discovered = False


def register_provider(name: str, factory: ProviderFactory) -> None:
    if not _NAME.match(name):
        raise ValueError(f"bad provider name {name!r}")
    _factories[name] = factory


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name not in _factories:
            _factories[entry.name] = entry.load()


def known_providers() -> list[str]:
    _discover()
    return sorted(_factories)


async def configure(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    provider: str,
    settings: Mapping[str, str],
    secret: str,
) -> None:
    """Store the tenant's merchant account at ``provider`` (secret sealed)."""
    if provider not in known_providers():
        raise UserInputError(
            f"unknown payment provider {provider!r}",
            code="UNKNOWN_PROVIDER",
            field=["input", "provider"],
        )
    if not 16 <= len(secret) <= 512:
        raise UserInputError(
            "the merchant secret is 16 to 512 characters",
            code="INVALID_SECRET",
            field=["input", "secret"],
        )
    for key, value in settings.items():
        if len(key) > 64 or len(value) > 512:
            raise UserInputError(
                "settings keys are at most 64 characters, values 512",
                code="INVALID_SETTINGS",
                field=["input", "settings"],
            )
    await repository.save_provider_account(
        session,
        tenant_id,
        provider,
        dict(settings),
        Sealer.from_settings().seal(secret),
        datetime.now(UTC),
    )


async def provider_for(
    session: AsyncSession, tenant_id: uuid.UUID, provider: str
) -> PaymentProvider | None:
    """The tenant's adapter for ``provider``; ``None`` when it is unknown or the tenant
    has no account there."""
    _discover()
    factory = _factories.get(provider)
    if factory is None:
        return None
    account = await repository.provider_account_of(session, tenant_id, provider)
    if account is None:
        return None
    return factory(
        ProviderAccountSettings(
            tenant_id=tenant_id,
            provider=provider,
            settings=dict(account["settings"]),
            secret=Sealer.from_settings().open(account["sealed_secret"]),
        )
    )
