"""``POST /callbacks/payment/{provider}/{tenant_id}``: a provider's signed notifications.

Outside GraphQL, so the route authenticates its caller itself: the tenant's adapter
checks the provider's signature before anything in the body is believed. Answers:
200 processed (or a duplicate, which changes nothing); 401 bad signature; 404 unknown
provider or tenant, or a payment not committed yet (the provider delivers again later,
as real providers do on any non-2xx); 422 a notification that contradicts our payment.
"""

from __future__ import annotations

import logging
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from centers.payment import flow, providers
from kernel.errors import InvalidOperationError, NotFoundError

log = logging.getLogger("zhongtai.payment.callbacks")

MAX_BODY = 64 * 1024


async def provider_callback(request: Request) -> JSONResponse:
    provider = str(request.path_params["provider"])
    try:
        tenant_id = uuid.UUID(str(request.path_params["tenant_id"]))
    except ValueError:
        return JSONResponse({"error": "unknown tenant"}, status_code=404)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "too large"}, status_code=413)
    headers = {k.lower(): v for k, v in request.headers.items()}
    runtime = request.app.state.runtime
    try:
        async with runtime.db.unit_of_work(tenant_id) as session:
            adapter = await providers.provider_for(session, tenant_id, provider)
            if adapter is None:
                return JSONResponse({"error": "unknown provider"}, status_code=404)
            callback = adapter.verify_callback(headers, body)
            if callback is None:
                log.warning(
                    "payment callback with a bad signature", extra={"tenant": str(tenant_id)}
                )
                return JSONResponse({"error": "bad signature"}, status_code=401)
            outcome = await flow.handle_callback(session, tenant_id, provider, callback)
    except NotFoundError:
        return JSONResponse({"error": "not found, deliver again later"}, status_code=404)
    except InvalidOperationError as error:
        log.error("payment callback refused: %s", error, extra={"tenant": str(tenant_id)})
        return JSONResponse({"error": "refused"}, status_code=422)
    return JSONResponse({"ok": True, "outcome": outcome})


ROUTES = [
    Route("/callbacks/payment/{provider}/{tenant_id}", provider_callback, methods=["POST"]),
]
