"""The carrier open API's wire format, shared by the plugin and its emulator: the signed
request envelope and the business codes of its answers."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

OK = 0
BAD_PARAMS = 1001
BAD_SIGNATURE = 2005
NO_SUCH_ORDER = 2062
ORDER_CANCELLED = 2076
# A request's timestamp may be this far from the carrier's clock (replay guard).
TOLERANCE_SECONDS = 300


def sign(secret: str, app_key: str, timestamp: str, body: str) -> str:
    """hex HMAC-SHA256 of ``app_key=<k>&body=<b>&timestamp=<t>`` with the app secret."""
    message = f"app_key={app_key}&body={body}&timestamp={timestamp}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def envelope(app_key: str, secret: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The signed request: the business payload travels as JSON text in ``body``."""
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    stamp = str(int(time.time()))
    return {
        "app_key": app_key,
        "timestamp": stamp,
        "body": body,
        "signature": sign(secret, app_key, stamp, body),
    }
