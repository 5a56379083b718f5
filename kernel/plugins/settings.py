"""Settings of the plugin system and the outbox dispatcher (env prefix ``ZHONGTAI_``).

Kept apart from ``kernel.settings.Settings`` so the plugin system can be configured and
tested on its own; documented in ``docs/plugins.md`` and ``docs/configuration.md``.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Only for development and tests; production refuses to start without a real key.
_DEV_KEY_SEED = b"zhongtai-dev-plugin-secret-key-change-me"


class PluginSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHONGTAI_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    # Fernet keys (urlsafe base64 of 32 bytes), comma-separated: the first seals new
    # secrets, all of them open old ones (rotate by prepending a new key).
    plugin_secret_keys: SecretStr | None = None
    plugin_call_timeout_seconds: float = 5.0
    # A pull reads pages and writes them; it gets longer than one outbound call.
    plugin_pull_timeout_seconds: float = 30.0
    dispatch_interval_seconds: float = 1.0
    dispatch_batch_size: int = 200
    # Per tenant per pass, so one tenant's backlog cannot starve the others.
    dispatch_tenant_batch_size: int = 50
    # Calls in flight per subscriber per pass: a hanging backend holds at most these.
    dispatch_subscriber_batch_size: int = 20
    dispatch_max_attempts: int = 8
    dispatch_backoff_base_seconds: float = 2.0
    dispatch_backoff_max_seconds: float = 600.0
    # A claimed delivery not finished within this lease is tried again (crash safety).
    dispatch_lease_seconds: float = 60.0
    # Delivered rows are kept this long (for support), then pruned by the dispatcher.
    dispatch_retention_hours: float = 168.0
    breaker_failure_threshold: int = 5
    breaker_cooldown_seconds: float = 30.0
    # Webhook URLs on loopback/private addresses: allowed outside production unless set.
    webhook_allow_private_urls: bool | None = None

    @property
    def allow_private_webhooks(self) -> bool:
        if self.webhook_allow_private_urls is not None:
            return self.webhook_allow_private_urls
        return self.environment != "production"

    def secret_keys(self) -> list[bytes]:
        if self.plugin_secret_keys is not None:
            keys = [
                k.strip().encode() for k in self.plugin_secret_keys.get_secret_value().split(",")
            ]
            return [k for k in keys if k]
        if self.environment == "production":
            raise RuntimeError("ZHONGTAI_PLUGIN_SECRET_KEYS is required in production")
        return [base64.urlsafe_b64encode(hashlib.sha256(_DEV_KEY_SEED).digest())]


@lru_cache(maxsize=1)
def get_plugin_settings() -> PluginSettings:
    return PluginSettings()
