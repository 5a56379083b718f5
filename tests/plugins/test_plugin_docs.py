"""docs/plugins.md stays true to the code (the datasette rule): a center port, a port
method, a plugin hook, a manifest or context field, a setting or a shipped plugin that
the page does not mention fails here."""

from __future__ import annotations

import ast
import dataclasses
import re
import tomllib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel.db import Database
from kernel.dispatch import Dispatcher, verify
from kernel.dispatch.inbound import Inbound
from kernel.plugins import storage
from kernel.plugins.manifest import (
    CallbackPlugin,
    DeliveredEvent,
    Plugin,
    PluginContext,
    PluginManifest,
    PullingPlugin,
)
from kernel.plugins.registry import PluginRegistry, default_registry
from kernel.plugins.sealing import Sealer
from kernel.plugins.settings import PluginSettings
from plugins.emulation import LoopbackServer
from tests.conftest import TenantFixture
from tests.kernel.dispatch.support import emit_changes, plugin_settings

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


def doc_verify() -> Callable[..., bool]:
    """The receiver's ``verify`` of docs/plugins.md, executed as a reader would copy it."""
    blocks = re.findall(r"```python\n(.*?)```", DOC, flags=re.DOTALL)
    (source,) = [b for b in blocks if "def verify(" in b]
    namespace: dict[str, Any] = {}
    exec(compile(source, "docs/plugins.md", "exec"), namespace)  # noqa: S102 - our own docs
    found: Callable[..., bool] = namespace["verify"]
    return found


async def test_the_documented_verify_matches_kernel_verify_on_real_deliveries(
    db: Database, tenant: TenantFixture
) -> None:
    """Real signed deliveries over HTTP, as a receiver's framework hands them over (header
    names lower-cased), then every way a header can arrive or be forged: the page's
    snippet and ``kernel.dispatch.verify`` agree on each, and accept exactly the genuine."""
    received: list[tuple[dict[str, str], bytes]] = []

    async def receive(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/hook", receive, methods=["POST"])])
    async with LoopbackServer(app) as server:
        async with db.unit_of_work(tenant.id) as session:
            _, secret = await storage.register_webhook(
                session,
                tenant.id,
                url=server.url + "/hook",
                topics=["test.*"],
                sealer=Sealer.from_settings(plugin_settings()),
                allow_private=True,
            )
        await emit_changes(db, tenant.id, uuid.uuid4(), [1, 2])
        subject = Dispatcher(db, registry=PluginRegistry(), settings=plugin_settings())
        await subject.run_once(tenant_id=tenant.id)
        await subject.aclose()
    assert len(received) == 2
    documented = doc_verify()
    for headers, body in received:
        assert "zhongtai-signature" in headers  # lower-cased by the framework
        timestamp = headers["zhongtai-timestamp"]
        cases: list[tuple[str, str, dict[str, str], bytes, bool]] = [
            ("as received", secret, headers, body, True),
            ("Title-Case names", secret, {k.title(): v for k, v in headers.items()}, body, True),
            ("UPPER names", secret, {k.upper(): v for k, v in headers.items()}, body, True),
            ("tampered body", secret, headers, body + b" ", False),
            ("wrong secret", "whsec_other", headers, body, False),
            ("no signature", secret, {"zhongtai-timestamp": timestamp}, body, False),
            (
                "stale",
                secret,
                {**headers, "zhongtai-timestamp": str(int(timestamp) - 301)},
                body,
                False,
            ),
        ]
        for forged in ("soon", "", "²", "1e9", f" {timestamp}", f"0{timestamp}", "-1"):
            cases.append(
                (
                    f"timestamp {forged!r}",
                    secret,
                    {**headers, "zhongtai-timestamp": forged},
                    body,
                    False,
                )
            )
        for forged in ("v1=é", "", "v1=" + "0" * 64, headers["zhongtai-signature"].upper()):
            cases.append(
                (
                    f"signature {forged!r}",
                    secret,
                    {**headers, "zhongtai-signature": forged},
                    body,
                    False,
                )
            )
        for name, key, given, payload, genuine in cases:
            assert verify(key, given, payload) is genuine, name
            assert documented(key, given, payload) is genuine, name


def test_the_documented_pyproject_is_complete() -> None:
    """The plugin ``pyproject.toml`` of the page builds an installable distribution: a
    build backend, a name and version, the platform as a dependency and the entry point
    named like the example manifest."""
    blocks = re.findall(r"```toml\n(.*?)```", DOC, flags=re.DOTALL)
    (source,) = [b for b in blocks if "[build-system]" in b]
    project = tomllib.loads(source)
    assert project["build-system"]["build-backend"] == "setuptools.build_meta"
    meta = project["project"]
    assert meta["name"] and meta["version"] and meta["requires-python"]
    names = {re.split(r"[<>=!~\[ ]", d, maxsplit=1)[0] for d in meta["dependencies"]}
    assert {"zhongtai", "httpx", "pydantic"} <= names
    (example_name,) = re.findall(r'MANIFEST = PluginManifest\(\n\s+name="([^"]+)"', DOC)
    assert meta["entry-points"]["zhongtai.plugins"] == {example_name: "my_erp.plugin:MANIFEST"}
    assert "pip install ./my-erp-plugin" in DOC  # installing from a local directory
