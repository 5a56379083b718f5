"""Signed webhooks. The body is the event's JSON; the signature is HMAC-SHA256 over
``"<timestamp>.<body>"`` with the endpoint's secret, sent as

    Zhongtai-Event-Id: <event id>          (dedupe by it: delivery is at least once)
    Zhongtai-Topic: <topic>
    Zhongtai-Timestamp: <unix seconds>
    Zhongtai-Signature: v1=<hex digest>

A receiver recomputes the digest and refuses a timestamp older than a few minutes, so a
captured request cannot be replayed later (``verify`` does both)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import re
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from kernel.plugins.manifest import DeliveredEvent, PluginError

EVENT_ID_HEADER = "Zhongtai-Event-Id"
TOPIC_HEADER = "Zhongtai-Topic"
TIMESTAMP_HEADER = "Zhongtai-Timestamp"
SIGNATURE_HEADER = "Zhongtai-Signature"
DEFAULT_TOLERANCE_SECONDS = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Zhongtai-Signature`` header value for ``body`` sent at ``timestamp``."""
    message = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether a received webhook is authentic and fresh (receivers use this). Header
    names in any case; never raises on malformed headers (docs/plugins.md has the same
    check for receivers without zhongtai, tested against this one)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    signature = lowered.get(SIGNATURE_HEADER.lower(), "")
    # ASCII digits only: str.isdigit() accepts "²", which int() refuses.
    if not _TIMESTAMP.fullmatch(timestamp):
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > tolerance_seconds:
        return False
    # Over the timestamp exactly as received, like the sender's; bytes, because
    # compare_digest refuses str with non-ASCII characters.
    message = timestamp.encode() + b"." + body
    expected = "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


async def check_public(url: str) -> None:
    """Refuse a URL whose host resolves to a loopback, private, link-local or reserved
    address (the host was checked at registration; DNS may have changed since)."""
    host = urlsplit(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except OSError:
        raise PluginError(f"webhook host {host!r} does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        ):
            raise PluginError(f"webhook host {host!r} resolves to a non-public address")


def body_of(event: DeliveredEvent) -> bytes:
    return json.dumps(event.as_json(), sort_keys=True, separators=(",", ":")).encode()


async def post_event(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    event: DeliveredEvent,
    *,
    call_timeout: float,
    now: float | None = None,
) -> None:
    """POST one event; raises ``PluginError`` unless the endpoint answers 2xx."""
    body = body_of(event)
    timestamp = int(now if now is not None else time.time())
    headers = {
        "content-type": "application/json",
        EVENT_ID_HEADER: str(event.id),
        TOPIC_HEADER: event.topic,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    try:
        response = await client.post(url, content=body, headers=headers, timeout=call_timeout)
    except httpx.TimeoutException:
        raise PluginError(f"webhook timed out after {call_timeout:g}s") from None
    except httpx.HTTPError as error:
        raise PluginError(f"webhook unreachable: {type(error).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise PluginError(f"webhook answered HTTP {response.status_code}")
