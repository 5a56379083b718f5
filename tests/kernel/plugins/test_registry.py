"""The entry-point registry: shipped plugins load; a broken distribution is recorded,
never fatal."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest
from pydantic import BaseModel

from kernel.plugins import registry as registry_module
from kernel.plugins.manifest import PluginManifest
from kernel.plugins.registry import PluginRegistry, default_registry


class Empty(BaseModel):
    pass


GOOD = PluginManifest(
    name="good",
    version="1.0.0",
    title="Good",
    ports=("order.OrderSink",),
    settings_model=Empty,
    factory=lambda context: None,  # type: ignore[arg-type,return-value]
    topics=("order.*",),
)


def test_shipped_plugins_are_registered_through_entry_points() -> None:
    names = [m.name for m in default_registry().all()]
    assert names == ["carrier-rest", "channel-takeout", "crm-rest", "erp-odoo", "erp-rest", "pos"]


def test_broken_distributions_are_recorded_and_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [
        EntryPoint("good", f"{__name__}:GOOD", "zhongtai.plugins"),
        EntryPoint("missing", "no_such_module:MANIFEST", "zhongtai.plugins"),
        EntryPoint("not-a-manifest", f"{__name__}:Empty", "zhongtai.plugins"),
        EntryPoint("renamed", f"{__name__}:GOOD", "zhongtai.plugins"),
    ]

    def fake_entry_points(group: str) -> list[Any]:
        return entries if group == "zhongtai.plugins" else []

    monkeypatch.setattr(registry_module, "entry_points", fake_entry_points)
    loaded = PluginRegistry.from_entry_points()
    assert [m.name for m in loaded.all()] == ["good"]
    assert set(loaded.load_errors) == {"missing", "not-a-manifest", "renamed"}
    assert loaded.load_errors["missing"].startswith("ModuleNotFoundError")
    assert "names a manifest called 'good'" in loaded.load_errors["renamed"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "Bad Name"), ("topics", ("Order.Placed",)), ("ports", ("order_sink",))],
)
def test_malformed_manifest_is_refused(field: str, value: Any) -> None:
    values: dict[str, Any] = {
        "name": "x-plugin",
        "version": "1.0.0",
        "title": "X",
        "ports": ("order.OrderSink",),
        "settings_model": Empty,
        "factory": GOOD.factory,
        field: value,
    }
    with pytest.raises(ValueError):
        PluginManifest(**values)


def test_two_plugins_cannot_share_a_name() -> None:
    other = PluginManifest(**{**GOOD.__dict__})
    with pytest.raises(ValueError):
        PluginRegistry([GOOD, other])
