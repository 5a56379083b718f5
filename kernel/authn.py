"""Authentication: every request carries ``Authorization: Bearer <JWT>``.

HS256 with a configured secret in development; RS256/ES256 through a JWKS URL in
production. Algorithms, audience, issuer and expiry are pinned and required.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from kernel.errors import UnauthenticatedError
from kernel.settings import Settings

SUBJECT_KINDS = ("user", "sa")
VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, within which tenant. ``subject`` is namespaced: ``user:…``/``sa:…``."""

    subject: str
    tenant_id: uuid.UUID
    subject_id: str


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        algorithms = set(settings.jwt_algorithms)
        if not algorithms or "none" in {a.lower() for a in algorithms}:
            raise RuntimeError("ZHONGTAI_JWT_ALGORITHMS must name real signing algorithms")
        if settings.jwks_url and any(a.startswith("HS") for a in algorithms):
            raise RuntimeError("with a JWKS URL, use asymmetric algorithms (RS256, ES256)")
        if not settings.jwks_url:
            settings.jwt_key()  # fails at startup, not at the first request, in production
        self._settings = settings
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._jwks = (
            jwt.PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None
        )

    async def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise UnauthenticatedError("missing Authorization header")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise UnauthenticatedError("Authorization must be 'Bearer <token>'")
        # A client sends the same token for many requests: verify its signature once
        # and trust the result until the token expires.
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        claims = await self._decode(token)
        principal = principal_from_claims(claims)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (principal, float(claims["exp"]))
        return principal

    async def _decode(self, token: str) -> dict[str, Any]:
        settings = self._settings
        try:
            if self._jwks is not None:
                jwks = self._jwks
                # PyJWKClient fetches over blocking HTTP; its key cache makes this rare.
                signing = await asyncio.to_thread(jwks.get_signing_key_from_jwt, token)
                key: Any = signing.key
            else:
                key = settings.jwt_key()
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=settings.jwt_algorithms,
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                leeway=settings.jwt_leeway_seconds,
                options={"require": ["exp", "iat", "sub", "aud", "iss", "tid"]},
            )
        except jwt.PyJWTError as error:
            raise UnauthenticatedError(f"invalid token: {error}") from None
        return claims


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    kind = claims.get("kind", "user")
    if kind not in SUBJECT_KINDS:
        raise UnauthenticatedError("invalid token: unknown subject kind")
    sub = str(claims["sub"])
    if not sub or any(ch in sub for ch in ", \t\n:*"):
        raise UnauthenticatedError("invalid token: malformed subject")
    try:
        tenant_id = uuid.UUID(str(claims["tid"]))
    except ValueError:
        raise UnauthenticatedError("invalid token: malformed tenant") from None
    return Principal(subject=f"{kind}:{sub}", tenant_id=tenant_id, subject_id=sub)


def mint_dev_token(
    settings: Settings,
    *,
    tenant_id: uuid.UUID,
    subject_id: str,
    kind: str = "user",
    ttl: timedelta = timedelta(hours=12),
) -> str:
    """Sign an HS256 token with the development secret (the ``token`` CLI command)."""
    if "HS256" not in settings.jwt_algorithms:
        raise RuntimeError("dev tokens are HS256; enable it in ZHONGTAI_JWT_ALGORITHMS")
    now = datetime.now(UTC)
    claims = {
        "sub": subject_id,
        "tid": str(tenant_id),
        "kind": kind,
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, settings.jwt_key(), algorithm="HS256")
