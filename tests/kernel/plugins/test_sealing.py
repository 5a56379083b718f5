"""Secrets at rest: sealed with Fernet under keys from settings, rotatable."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from kernel.plugins.sealing import Sealer, SealError
from kernel.plugins.settings import PluginSettings


def test_sealed_secret_opens_and_does_not_contain_the_plaintext() -> None:
    sealer = Sealer([Fernet.generate_key()])
    token = sealer.seal_json({"api_key": "k-very-secret"})
    assert "k-very-secret" not in token
    assert sealer.open_json(token) == {"api_key": "k-very-secret"}


def test_rotated_keys_open_old_secrets_and_seal_with_the_new_key() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    token = Sealer([old]).seal("s")
    rotated = Sealer([new, old])
    assert rotated.open(token) == "s"
    with pytest.raises(SealError):
        Sealer([old]).open(rotated.seal("s"))


def test_tampered_or_foreign_token_is_refused() -> None:
    sealer = Sealer([Fernet.generate_key()])
    token = sealer.seal("s")
    with pytest.raises(SealError):
        sealer.open(token[:-4] + "AAAA")
    with pytest.raises(SealError):
        Sealer([Fernet.generate_key()]).open(token)


def test_production_requires_configured_keys() -> None:
    with pytest.raises(RuntimeError):
        PluginSettings(environment="production").secret_keys()
    key = Fernet.generate_key().decode()
    configured = PluginSettings(environment="production", plugin_secret_keys=SecretStr(f" {key} ,"))
    assert configured.secret_keys() == [key.encode()]
