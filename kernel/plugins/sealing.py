"""Secrets at rest: plugin and webhook secrets are sealed with Fernet (AES-128-CBC plus
HMAC-SHA256, from ``cryptography``) under keys from settings, and opened only in memory
to build a plugin instance or sign a webhook."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from kernel.plugins.settings import PluginSettings, get_plugin_settings


class SealError(RuntimeError):
    """A sealed value could not be opened (wrong key, or tampered with)."""


class Sealer:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is required")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def from_settings(cls, settings: PluginSettings | None = None) -> Sealer:
        return cls((settings or get_plugin_settings()).secret_keys())

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SealError("cannot open a sealed secret: wrong key or tampered") from None

    def seal_json(self, value: dict[str, Any]) -> str:
        return self.seal(json.dumps(value, sort_keys=True))

    def open_json(self, token: str | None) -> dict[str, Any]:
        if not token:
            return {}
        opened: dict[str, Any] = json.loads(self.open(token))
        return opened
