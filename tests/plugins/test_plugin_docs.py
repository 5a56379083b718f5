"""docs/plugins.md stays true to the code (the datasette rule): a center port, a port
method, a plugin hook, a manifest or context field, a setting or a shipped plugin that
the page does not mention fails here."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from kernel.dispatch.inbound import Inbound
from kernel.plugins.manifest import (
    CallbackPlugin,
    DeliveredEvent,
    Plugin,
    PluginContext,
    PluginManifest,
    PullingPlugin,
)
from kernel.plugins.registry import default_registry
from kernel.plugins.settings import PluginSettings

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "plugins.md").read_text()


def center_ports() -> dict[str, list[str]]:
    """``"<center>.<Protocol>"`` -> its methods, for every ``centers/*/ports.py``."""
    found: dict[str, list[str]] = {}
    for path in sorted(ROOT.glob("centers/*/ports.py")):
        center = path.parent.name
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id == "Protocol" for b in node.bases
            ):
                found[f"{center}.{node.name}"] = [
                    m.name
                    for m in node.body
                    if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)
                ]
    return found


def hooks(protocol: type) -> list[str]:
    return [n for n in vars(protocol) if not n.startswith("_") and callable(getattr(protocol, n))]


def test_centers_declare_ports() -> None:
    assert len(center_ports()) >= 9


def test_every_center_port_and_method_is_documented() -> None:
    missing = [
        f"{port}.{method}" if method else port
        for port, methods in center_ports().items()
        for method in [None, *methods]
        if f"`{method or port}`" not in DOC
    ]
    assert missing == [], f"document these in docs/plugins.md: {missing}"


def test_every_plugin_hook_is_documented() -> None:
    names = {h for p in (Plugin, PullingPlugin, CallbackPlugin) for h in hooks(p)}
    names |= {"transaction", "cursor", "save_cursor"}  # Inbound
    assert {"handle_event", "check_health", "aclose", "pull", "handle_callback"} <= names
    assert all(hasattr(Inbound, n) for n in ("transaction", "cursor", "save_cursor"))
    missing = sorted(n for n in names if f"`{n}" not in DOC and f".{n}(" not in DOC)
    assert missing == [], f"document these hooks in docs/plugins.md: {missing}"


def test_every_manifest_context_and_event_field_is_documented() -> None:
    fields = [
        *(f.name for f in dataclasses.fields(PluginManifest)),
        *(f.name for f in dataclasses.fields(PluginContext)),
        *(f.name for f in dataclasses.fields(DeliveredEvent)),
    ]
    missing = sorted({f for f in fields if f"`{f}`" not in DOC})
    assert missing == [], f"document these fields in docs/plugins.md: {missing}"


def test_every_plugin_setting_is_documented() -> None:
    names = [
        f"ZHONGTAI_{name.upper()}" for name in PluginSettings.model_fields if name != "environment"
    ]
    missing = [n for n in names if f"`{n}`" not in DOC]
    assert missing == [], f"document these settings in docs/plugins.md: {missing}"


def test_every_shipped_plugin_is_documented() -> None:
    registry = default_registry()
    assert registry.load_errors == {}
    names = [m.name for m in registry.all()]
    assert {"erp-rest", "pos", "channel-takeout", "crm-rest"} <= set(names)
    missing = [n for n in names if f"`{n}`" not in DOC]
    assert missing == [], f"document these plugins in docs/plugins.md: {missing}"
