"""Process configuration, read once from the environment (prefix ``ZHONGTAI_``).

Every setting is documented in ``docs/configuration.md``.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Only ever used when no secret is configured in development; production refuses it.
DEV_JWT_SECRET = "zhongtai-dev-secret-change-me-in-production-0123456789"  # noqa: S105
DEV_API_KEY_SECRET = "zhongtai-dev-api-key-secret-change-me-in-production"  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHONGTAI_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None,
        description="postgresql+asyncpg://… ; unset starts the embedded PostgreSQL",
    )
    data_dir: Path = Path(".zhongtai")
    db_pool_size: int = 20
    db_max_overflow: int = 20
    db_pool_timeout_seconds: float = 30.0
    # Connections all worker processes of one `serve --workers N` may hold together:
    # each gets total // N (no overflow). Unset: each gets pool size + overflow.
    db_pool_total: int | None = None
    # `serve --subgraph order,stock`: serve these subgraphs only, behind a gateway.
    serve_subgraphs: list[str] = []
    # LISTEN (policy changes, live order events) needs a session of its own, which a
    # PgBouncer in transaction mode cannot give: point this at PostgreSQL directly.
    listen_database_url: str | None = None
    # Named prepared statements kept per connection. PgBouncer before 1.21 in
    # transaction mode hands each transaction any server connection, where they do not
    # exist: turn them off there (docs/deploy.md).
    db_statement_cache: bool = True

    jwt_algorithms: list[str] = ["HS256"]
    jwt_secret: SecretStr | None = None
    jwks_url: str | None = None
    jwt_audience: str = "zhongtai"
    jwt_issuer: str = "zhongtai-dev"
    jwt_leeway_seconds: int = 30

    authz_cache_tenants: int = 1024
    max_query_depth: int = 12
    max_aliases: int = 30
    max_query_tokens: int = 2000
    max_query_cost: int = 20_000
    # Known read documents answered by one SQL statement (kernel.graphql.plans);
    # off: every operation is resolved field by field (the generic path's bench).
    compiled_reads: bool = True
    # Bodies past this are refused with HTTP 413 before they are parsed.
    max_request_bytes: int = 1_048_576
    # Most ``_entities`` representations one request may ask a subgraph for.
    max_entity_representations: int = 1000
    # Automatic persisted queries: documents kept by hash per process (0: APQ off,
    # every hash misses and clients send the full query).
    persisted_queries_capacity: int = 2000
    # Trusted documents: a front end build's manifest of operations by SHA-256
    # (GraphQL Codegen persisted-documents.json or Apollo's persisted query manifest).
    trusted_documents: Path | None = None
    # Tenants that may run trusted documents only (["*"]: every tenant).
    trusted_documents_only_tenants: list[str] = []
    # Browser origins allowed to call the API (CORS), e.g. ["https://shop.example.com"].
    # None: any origin in development, none in test and production.
    cors_allowed_origins: list[str] | None = None
    # Also allowed: origins matching this regular expression (e.g. every store's
    # sub-domain, "https://[a-z0-9-]+\\.shop\\.example\\.com").
    cors_allowed_origin_regex: str | None = None
    cors_max_age_seconds: int = 600
    # None: introspection only in development.
    introspection: bool | None = None

    api_key_secret: SecretStr | None = None
    # Token buckets per process; 0 turns a limit off.
    rate_limit_tenant_per_second: float = 2000.0
    rate_limit_tenant_burst: int = 4000
    rate_limit_caller_per_second: float = 1000.0
    rate_limit_caller_burst: int = 2000

    # Durable jobs (payment timeouts, reservation expiry) run in every server process.
    jobs_enabled: bool = True
    jobs_poll_seconds: float = 1.0

    # /metrics (docs/operations.md): a scraper sends the token, or comes from a network
    # listed in metrics_allow (CIDR); anyone else gets 403.
    metrics_enabled: bool = True
    metrics_token: SecretStr | None = None
    metrics_allow: list[str] = ["127.0.0.1/32", "::1/128"]
    # Tenants named in database-derived gauges (the N with the largest value); 0: none.
    metrics_tenant_labels: int = 0
    # Distinct operation names labelled per process; later ones count as "other".
    metrics_operation_names: int = 200

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError names the bad one
        return value

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    def trusted_documents_only(self, tenant_id: object) -> bool:
        only = self.trusted_documents_only_tenants
        return bool(only) and ("*" in only or str(tenant_id) in only)

    @property
    def cors_origins(self) -> list[str]:
        if self.cors_allowed_origins is not None:
            return self.cors_allowed_origins
        return ["*"] if self.is_development else []

    @property
    def introspection_enabled(self) -> bool:
        return self.is_development if self.introspection is None else self.introspection

    def api_key_hmac_key(self) -> bytes:
        """The server secret API keys are hashed with (HMAC-SHA256)."""
        if self.api_key_secret is not None:
            return self.api_key_secret.get_secret_value().encode()
        if self.environment == "production":
            raise RuntimeError("ZHONGTAI_API_KEY_SECRET is required in production")
        return DEV_API_KEY_SECRET.encode()

    def jwt_key(self) -> str:
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        if self.environment == "production":
            raise RuntimeError("ZHONGTAI_JWT_SECRET or ZHONGTAI_JWKS_URL is required in production")
        return DEV_JWT_SECRET


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
