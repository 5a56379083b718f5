"""Production tokens: RS256 verified against keys fetched from a JWKS URL."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from kernel.authn import Authenticator
from kernel.errors import UnauthenticatedError
from kernel.settings import Settings

SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    jwk = json.loads(RSAAlgorithm.to_jwk(SIGNING_KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    server.shutdown()


def _token(key: rsa.RSAPrivateKey, tenant_id: uuid.UUID, **overrides: object) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": "u1",
        "tid": str(tenant_id),
        "aud": "zhongtai",
        "iss": "https://idp.example",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        **overrides,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def _settings(jwks_url: str) -> Settings:
    return Settings(
        environment="production",
        jwks_url=jwks_url,
        jwt_algorithms=["RS256"],
        jwt_issuer="https://idp.example",
        api_key_secret="a-production-api-key-secret-0123456789",
    )


async def test_rs256_token_from_jwks_is_accepted(jwks_url: str) -> None:
    tenant_id = uuid.uuid4()
    principal = await Authenticator(_settings(jwks_url)).authenticate(
        f"Bearer {_token(SIGNING_KEY, tenant_id)}"
    )
    assert (principal.subject, principal.tenant_id) == ("user:u1", tenant_id)


async def test_token_signed_by_another_key_or_issuer_is_refused(jwks_url: str) -> None:
    authenticator = Authenticator(_settings(jwks_url))
    for token in (
        _token(OTHER_KEY, uuid.uuid4()),
        _token(SIGNING_KEY, uuid.uuid4(), iss="https://evil.example"),
    ):
        with pytest.raises(UnauthenticatedError):
            await authenticator.authenticate(f"Bearer {token}")


def test_production_refuses_to_start_without_keys() -> None:
    with pytest.raises(RuntimeError):
        Authenticator(Settings(environment="production"))
    with pytest.raises(RuntimeError):
        Authenticator(Settings(jwks_url="http://127.0.0.1:1/jwks", jwt_algorithms=["HS256"]))
    with pytest.raises(RuntimeError, match="API_KEY_SECRET"):
        Authenticator(
            _settings("http://127.0.0.1:1/jwks").model_copy(update={"api_key_secret": None})
        )
