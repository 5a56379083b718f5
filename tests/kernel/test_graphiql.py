"""GraphiQL in development: the page and every asset it loads come from this server.

The browser check (``test_graphiql_runs_a_query_in_headless_chromium``) drives Debian's
``chromium`` over the DevTools protocol with every host but loopback unresolvable, so a
CDN reference would leave the page blank instead of passing quietly.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from starlette.applications import Starlette

from kernel.app import create_app
from kernel.settings import Settings
from schema.subgraphs import served_api
from tests.conftest import TenantFixture

HTML = {"accept": "text/html"}


class _References(HTMLParser):
    """Every URL the page makes a browser load (scripts, stylesheets, images, frames)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.urls.append(value)


def _is_same_origin(url: str) -> bool:
    return url.startswith("/") and not url.startswith("//")


@pytest.fixture
async def dev_app(settings: Settings) -> AsyncIterator[Starlette]:
    app = create_app(served_api(), settings.model_copy(update={"environment": "development"}))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def dev_client(dev_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=dev_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://zhongtai.test") as c:
        yield c


async def test_graphiql_page_and_its_assets_come_from_the_server(
    dev_client: httpx.AsyncClient,
) -> None:
    page = await dev_client.get("/graphql", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    parser = _References()
    parser.feed(page.text)
    assert len(parser.urls) == 4  # stylesheet, React, ReactDOM, GraphiQL
    assert all(_is_same_origin(url) for url in parser.urls), parser.urls
    assert "http://" not in page.text and "https://" not in page.text
    for url in parser.urls:
        asset = await dev_client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
        if url.endswith(".css"):
            assert asset.headers["content-type"].startswith("text/css")
            # Fonts and images are inlined; nothing else is fetched from the stylesheet.
            for target in re.findall(r"url\(\s*['\"]?([^'\")]+)", asset.text):
                assert target.startswith("data:") or _is_same_origin(target), target
            assert "@import" not in asset.text
        else:
            assert "javascript" in asset.headers["content-type"]


async def test_graphiql_assets_ship_their_licenses(dev_client: httpx.AsyncClient) -> None:
    for name in ("graphiql", "react", "react-dom"):
        license_text = await dev_client.get(f"/graphiql/{name}.LICENSE.txt")
        assert license_text.status_code == 200
        assert "MIT License" in license_text.text


async def test_graphiql_and_its_assets_exist_only_in_development(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/graphql", headers=HTML)
    assert "text/html" not in page.headers["content-type"]
    assert (await client.get("/graphiql/graphiql.min.js")).status_code == 404


# --- a real browser ------------------------------------------------------------------


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def _serve(app: Starlette) -> AsyncIterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1200):  # 60 s at most
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class _DevTools:
    """The few DevTools-protocol calls the test needs, on one page target."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._next_id = 0
        self.requested: list[str] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        call_id = self._next_id
        await self._connection.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(await self._connection.recv())
            if message.get("method") == "Network.requestWillBeSent":
                self.requested.append(message["params"]["request"]["url"])
            if message.get("id") == call_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, what: str, attempts: int = 900) -> Any:
        for _ in range(attempts):  # 900 x 0.1 s at most: a loaded CI machine is slow
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")


@contextlib.asynccontextmanager
async def _browser() -> AsyncIterator[_DevTools]:
    binary = _chromium()
    assert binary is not None
    with tempfile.TemporaryDirectory() as profile:
        process = await asyncio.create_subprocess_exec(
            binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=1400,800",
            # Only loopback resolves: a CDN reference fails instead of loading.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stderr is not None
            endpoint = None
            while line := await asyncio.wait_for(process.stderr.readline(), 90):
                # chromium prints its DevTools address first
                found = re.search(r"DevTools listening on (ws://\S+)", line.decode())
                if found:
                    endpoint = found.group(1)
                    break
            assert endpoint is not None, "chromium printed no DevTools address"
            http_base = endpoint.split("/devtools/")[0].replace("ws://", "http://")
            async with httpx.AsyncClient() as http:
                targets = (await http.get(f"{http_base}/json/list")).json()
            page = next(t for t in targets if t["type"] == "page")
            async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
                yield _DevTools(ws)
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 10)


@pytest.mark.skipif(
    _chromium() is None, reason="needs Debian's chromium (apt-get install chromium)"
)
async def test_graphiql_runs_a_query_in_headless_chromium(
    dev_app: Starlette, tenant: TenantFixture, tmp_path: Path
) -> None:
    token = await tenant.token("tenant_admin")
    query = "{ accessRoles { name builtin } }"
    async with _serve(dev_app) as origin, _browser() as devtools:
        await devtools.call("Network.enable")
        await devtools.call("Page.enable")
        # GraphiQL keeps its editors in localStorage: seed the query and the dev token.
        await devtools.call("Page.navigate", url=f"{origin}/health")
        await devtools.wait_for("document.readyState === 'complete'", "the origin to load")
        headers = json.dumps({"Authorization": f"Bearer {token}"})
        await devtools.evaluate(
            f"localStorage.setItem('graphiql:query', {json.dumps(query)});"
            f"localStorage.setItem('graphiql:headers', {json.dumps(headers)});"
        )
        await devtools.call("Page.navigate", url=f"{origin}/graphql")
        await devtools.wait_for(
            "!!document.querySelector('.graphiql-execute-button')", "GraphiQL to render"
        )
        await devtools.evaluate("document.querySelector('.graphiql-execute-button').click()")
        await devtools.wait_for(
            "(document.querySelector('.result-window') || {}).innerText.includes('tenant_admin')",
            "the roles in the result",
        )
        shown = await devtools.evaluate("document.querySelector('.result-window').innerText")
        screenshot = await devtools.call("Page.captureScreenshot", format="png")
    assert '"accessRoles"' in shown and '"tenant_admin"' in shown
    assert "errors" not in shown
    loaded = [url for url in devtools.requested if not url.startswith(("data:", "blob:"))]
    assert loaded and all(url.startswith(origin) for url in loaded), loaded
    _keep_screenshot(base64.b64decode(screenshot["data"]), tmp_path)


def _keep_screenshot(image: bytes, tmp_path: Path) -> None:
    assert image.startswith(b"\x89PNG")
    (tmp_path / "graphiql.png").write_bytes(image)
    # ZHONGTAI_GRAPHIQL_SCREENSHOT=docs/graphiql.png refreshes the picture in the docs.
    target = os.environ.get("ZHONGTAI_GRAPHIQL_SCREENSHOT")
    if target:
        Path(target).write_bytes(image)
