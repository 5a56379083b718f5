"""``POST /hooks/store/plugins/<plugin>/<tenant id>``: where a tenant's backend (a POS,
a takeout platform) calls us. The store center routes the request to the tenant's
enabled plugin, which authenticates it by its signature (this route is outside GraphQL
and its bearer tokens) and applies it through the centers' ``api``.

Answers: the plugin's own response; 404 for an unknown tenant, plugin or a plugin not
enabled or not taking callbacks (indistinguishable on purpose); 413 for a body over
1 MiB; 502 when the plugin fails and 504 when it exceeds its timeout (the admin sees
the error in the plugin's health).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from centers.store import integrations
from kernel.dispatch import deliveries
from kernel.dispatch.inbound import Inbound
from kernel.plugins import storage
from kernel.plugins.manifest import CallbackPlugin, CallbackRequest, PluginContext
from kernel.plugins.settings import get_plugin_settings

MAX_BODY = 1 << 20


def _not_found() -> Response:
    return JSONResponse({"error": "not found"}, status_code=404)


async def plugin_callback(request: Request) -> Response:
    db = request.app.state.runtime.db
    try:
        tenant_id = uuid.UUID(request.path_params["tenant"])
    except ValueError:
        return _not_found()
    manifest = integrations.installed(request.app.state.runtime.plugins).get(
        request.path_params["plugin"]
    )
    if manifest is None:
        return _not_found()
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return JSONResponse({"error": "body too large"}, status_code=413)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "body too large"}, status_code=413)
    async with db.unit_of_work(tenant_id) as session:
        installation = await storage.get_installation(session, tenant_id, manifest.name)
    if installation is None or not installation.enabled:
        return _not_found()
    timeout = get_plugin_settings().plugin_call_timeout_seconds
    try:
        settings = storage.open_settings(manifest, installation, integrations.sealer())
        plugin = manifest.factory(
            PluginContext(tenant_id=tenant_id, settings=settings, call_timeout=timeout)
        )
    except Exception:
        return JSONResponse({"error": "plugin unavailable"}, status_code=502)
    if not isinstance(plugin, CallbackPlugin):
        await plugin.aclose()
        return _not_found()
    started = time.perf_counter()
    error: str | None = None
    try:
        answer = await asyncio.wait_for(
            plugin.handle_callback(
                CallbackRequest(
                    method=request.method,
                    headers={k.lower(): v for k, v in request.headers.items()},
                    query=dict(request.query_params),
                    body=body,
                ),
                Inbound(tenant_id, manifest.name, db),
            ),
            timeout,
        )
        response: Response = JSONResponse(dict(answer.body), status_code=answer.status)
    except TimeoutError:
        error = f"callback timed out after {timeout:g}s"
        response = JSONResponse({"error": "timeout"}, status_code=504)
    except Exception as failure:  # the plugin's failure is reported, never a 500
        error = f"callback failed: {type(failure).__name__}: {failure}"[:500]
        response = JSONResponse({"error": "plugin failed"}, status_code=502)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(plugin.aclose(), timeout)
    if error is not None:
        async with db.unit_of_work(tenant_id) as session:
            await deliveries.record_health(
                session,
                tenant_id,
                storage.plugin_subscriber(manifest.name),
                datetime.now(UTC),
                ok=False,
                latency_ms=int((time.perf_counter() - started) * 1000),
                error=error,
            )
    return response


ROUTES = [Route("/hooks/store/plugins/{plugin}/{tenant}", plugin_callback, methods=["POST"])]
