"""Authentication: every request carries ``Authorization: Bearer <JWT>``, or an API key
of a service account (``Authorization: Bearer zt_…`` or ``X-Api-Key: zt_…``).

HS256 with a configured secret in development; RS256/ES256 through a JWKS URL in
production. Algorithms, audience, issuer and expiry are pinned and required. API keys
are checked against the database on every request (see ``kernel.authz.apikeys``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from kernel.authz import apikeys
from kernel.authz.permissions import SUBJECT
from kernel.db import Database
from kernel.errors import UnauthenticatedError
from kernel.graphql.limits import RateLimiter
from kernel.settings import Settings

SUBJECT_KINDS = ("user", "sa")
VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, within which tenant. ``subject`` is namespaced: ``user:…``/``sa:…``."""

    subject: str
    tenant_id: uuid.UUID
    subject_id: str
    # Set when the caller presented an API key: rate limits and audit name the key.
    key_id: uuid.UUID | None = None

    @property
    def caller(self) -> str:
        """What rate limits count: the key for API keys, else the subject."""
        return f"key:{self.key_id}" if self.key_id else self.subject


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        algorithms = set(settings.jwt_algorithms)
        if not algorithms or "none" in {a.lower() for a in algorithms}:
            raise RuntimeError("ZHONGTAI_JWT_ALGORITHMS must name real signing algorithms")
        if settings.jwks_url and any(a.startswith("HS") for a in algorithms):
            raise RuntimeError("with a JWKS URL, use asymmetric algorithms (RS256, ES256)")
        if not settings.jwks_url:
            settings.jwt_key()  # fails at startup, not at the first request, in production
        settings.api_key_hmac_key()  # likewise
        # Requests per tenant and per caller, shared by every endpoint of the process.
        self.tenant_rates = RateLimiter(
            settings.rate_limit_tenant_per_second, settings.rate_limit_tenant_burst
        )
        self.caller_rates = RateLimiter(
            settings.rate_limit_caller_per_second, settings.rate_limit_caller_burst
        )
        self._settings = settings
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._jwks = (
            jwt.PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None
        )

    async def authenticate_request(
        self, authorization: str | None, api_key: str | None, db: Database
    ) -> Principal:
        """The caller of an HTTP request, by JWT or by API key."""
        credential = api_key.strip() if api_key else None
        if credential is None and authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and apikeys.looks_like_api_key(token.strip()):
                credential = token.strip()
        if credential is None:
            return await self.authenticate(authorization)
        tenant_id, _key_id = apikeys.parse_key(credential)
        # Looked up behind the tenant's RLS wall, never cached: revocation is immediate.
        async with db.unit_of_work(tenant_id) as session:
            identity = await apikeys.verify(session, self._settings.api_key_hmac_key(), credential)
        return Principal(
            subject=f"sa:{identity.service_account}",
            tenant_id=identity.tenant_id,
            subject_id=identity.service_account,
            key_id=identity.key_id,
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
    # No separator, wildcard or blank can reach Casbin through a subject.
    if not SUBJECT.fullmatch(f"{kind}:{sub}"):
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
