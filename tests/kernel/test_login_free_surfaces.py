"""Only /health and /ready answer without credentials; every other route refuses.

(``/metrics`` answers scrapers from the networks in ``ZHONGTAI_METRICS_ALLOW``, loopback by
default: the routes are called here from an address outside them.)"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from starlette.routing import Route, WebSocketRoute

OPEN = {"/health", "/ready"}


def _concrete(path: str) -> str:
    """A route path with its parameters filled in (a subgraph name, ids)."""
    samples = {"center": "store"}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: samples.get(m.group(1), str(uuid.uuid4())), path)


async def test_no_route_but_health_and_readiness_answers_anonymously(
    app_runtime: tuple[Any, Any],
) -> None:
    app = app_runtime[0]
    outside = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=outside, base_url="http://zhongtai.test") as client:
        checked = await _call_every_route(app, client)
    assert ("POST", "/graphql") in checked and ("GET", "/metrics") in checked


async def _call_every_route(app: Any, client: httpx.AsyncClient) -> list[tuple[str, str]]:
    checked = []
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            continue  # the socket refuses before connection_init (subscription tests)
        assert isinstance(route, Route), route
        path = _concrete(route.path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            response = await client.request(
                method,
                path,
                json={"query": "{ __typename }"} if method == "POST" else None,
                headers={"accept": "application/json"},
            )
            checked.append((method, route.path))
            if route.path in OPEN:
                assert response.status_code in (200, 503), route.path
                continue
            assert 400 <= response.status_code < 500, (method, route.path, response.status_code)
            assert "data" not in response.text or '"data":null' in response.text.replace(" ", "")
    assert len(checked) >= 5
    return checked


async def test_an_anonymous_graphql_call_is_unauthenticated_with_a_challenge(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
