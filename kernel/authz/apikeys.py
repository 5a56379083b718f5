"""API keys for service accounts (plugins, POS terminals).

A key reads ``zt_<locator>.<secret>``: the locator names the tenant and the key id (so
the key is looked up behind that tenant's RLS wall by primary key), the secret is 32
random bytes. Only an HMAC-SHA256 of the whole key under the server's key secret
(``ZHONGTAI_API_KEY_SECRET``) is stored, so a copy of the table cannot be replayed.

A key belongs to one tenant and one service account (``sa:<name>``) holding one
least-privilege role (never ``tenant_admin`` nor a platform role), expires, and is
checked against the database on every request, so a revocation takes effect at once.
Rotation issues a second key while the first stays valid until it expires or is
revoked; a service account has at most two live keys.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.authz.rules import metadata
from kernel.errors import UnauthenticatedError, UserInputError
from kernel.ids import new_id

PREFIX = "zt_"
MAX_LIVE_KEYS = 2
MAX_LIFETIME = timedelta(days=366)
# Roles too broad for a machine credential.
REFUSED_ROLES = ("tenant_admin", "platform_admin")

api_key = sa.Table(
    "api_key",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("service_account", sa.String(63), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("role", sa.String(63), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    # The store the service account's role is held at (a POS terminal's); None: tenant-wide.
    sa.Column("store_id", sa.Uuid, nullable=True),
)


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    id: uuid.UUID
    service_account: str
    name: str
    role: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    store_id: uuid.UUID | None = None

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


@dataclass(frozen=True, slots=True)
class IssuedKey:
    info: ApiKeyInfo
    secret: str  # shown once, never stored


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    tenant_id: uuid.UUID
    key_id: uuid.UUID
    service_account: str


def looks_like_api_key(credential: str) -> bool:
    return credential.startswith(PREFIX)


def key_hash(secret: bytes, key: str) -> str:
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def _compose(tenant_id: uuid.UUID, key_id: uuid.UUID) -> str:
    locator = base64.urlsafe_b64encode(tenant_id.bytes + key_id.bytes).decode().rstrip("=")
    return f"{PREFIX}{locator}.{secrets.token_urlsafe(32)}"


def parse_key(key: str) -> tuple[uuid.UUID, uuid.UUID]:
    """The (tenant, key id) a key claims; ``UnauthenticatedError`` if malformed."""
    locator, dot, secret = key.removeprefix(PREFIX).partition(".")
    if not key.startswith(PREFIX) or not dot or len(secret) < 40 or len(locator) != 43:
        raise UnauthenticatedError("invalid API key")
    try:
        raw = base64.urlsafe_b64decode(locator + "=")
    except (ValueError, binascii.Error):
        raise UnauthenticatedError("invalid API key") from None
    if len(raw) != 32:
        raise UnauthenticatedError("invalid API key")
    return uuid.UUID(bytes=raw[:16]), uuid.UUID(bytes=raw[16:])


def _info(row: sa.Row[tuple[object, ...]]) -> ApiKeyInfo:
    m = row._mapping
    return ApiKeyInfo(
        id=m["id"],
        service_account=m["service_account"],
        name=m["name"],
        role=m["role"],
        created_by=m["created_by"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        revoked_at=m["revoked_at"],
        store_id=m["store_id"],
    )


async def verify(session: AsyncSession, secret: bytes, key: str) -> KeyIdentity:
    """Authenticate a presented key (``session`` bound to the tenant the key names)."""
    tenant_id, key_id = parse_key(key)
    row = (
        await session.execute(
            sa.select(api_key).where(api_key.c.tenant_id == tenant_id, api_key.c.id == key_id)
        )
    ).first()
    # Same answer for unknown, wrong, revoked and expired keys: nothing to probe.
    if row is None or not hmac.compare_digest(row.key_hash, key_hash(secret, key)):
        raise UnauthenticatedError("invalid API key")
    if not _info(row).live(datetime.now(UTC)):
        raise UnauthenticatedError("invalid API key")
    return KeyIdentity(tenant_id=tenant_id, key_id=key_id, service_account=row.service_account)


async def list_keys(
    session: AsyncSession, tenant_id: uuid.UUID, service_account: str | None = None
) -> list[ApiKeyInfo]:
    query = sa.select(api_key).where(api_key.c.tenant_id == tenant_id)
    if service_account is not None:
        query = query.where(api_key.c.service_account == service_account)
    rows = await session.execute(query.order_by(api_key.c.created_at, api_key.c.id).limit(500))
    return [_info(row) for row in rows.all()]


async def get_key(session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKeyInfo:
    row = (
        await session.execute(
            sa.select(api_key).where(api_key.c.tenant_id == tenant_id, api_key.c.id == key_id)
        )
    ).first()
    if row is None:
        raise UserInputError("no such API key", code="API_KEY_NOT_FOUND", field=["input", "id"])
    return _info(row)


async def issue(
    session: AsyncSession,
    secret: bytes,
    tenant_id: uuid.UUID,
    *,
    service_account: str,
    name: str,
    role: str,
    created_by: str,
    lifetime: timedelta,
    store_id: uuid.UUID | None = None,
) -> IssuedKey:
    """Store a new key's hash and return the key (once). The caller assigns the role."""
    if role in REFUSED_ROLES:
        raise UserInputError(
            f"API keys get a least-privilege role, not {role!r}",
            code="ROLE_TOO_BROAD",
            field=["input", "role"],
        )
    if not timedelta(minutes=5) <= lifetime <= MAX_LIFETIME:
        raise UserInputError(
            "a key lives between 5 minutes and 366 days",
            code="INVALID_EXPIRY",
            field=["input", "expiresInDays"],
        )
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 100:
        raise UserInputError(
            "name must be 1 to 100 characters", code="INVALID_NAME", field=["input", "name"]
        )
    now = datetime.now(UTC)
    # Serialize issuing per service account so two concurrent rotations cannot both pass.
    await session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
        {"k": f"api_key:{tenant_id}:{service_account}"},
    )
    live = [k for k in await list_keys(session, tenant_id, service_account) if k.live(now)]
    if len(live) >= MAX_LIVE_KEYS:
        raise UserInputError(
            f"{service_account} already has {MAX_LIVE_KEYS} live keys; revoke one first",
            code="TOO_MANY_LIVE_KEYS",
            field=["input"],
        )
    if any(k.role != role or k.store_id != store_id for k in live):
        raise UserInputError(
            "a service account's keys share its role and store",
            code="ROLE_MISMATCH",
            field=["input", "role"],
        )
    key_id = new_id()
    key = _compose(tenant_id, key_id)
    info = ApiKeyInfo(
        id=key_id,
        service_account=service_account,
        name=cleaned,
        role=role,
        created_by=created_by,
        created_at=now,
        expires_at=now + lifetime,
        revoked_at=None,
        store_id=store_id,
    )
    await session.execute(
        sa.insert(api_key).values(
            tenant_id=tenant_id,
            id=key_id,
            service_account=service_account,
            name=cleaned,
            role=role,
            key_hash=key_hash(secret, key),
            created_by=created_by,
            created_at=now,
            expires_at=info.expires_at,
            revoked_at=None,
            store_id=store_id,
        )
    )
    return IssuedKey(info=info, secret=key)


async def revoke(session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKeyInfo:
    """Revoke a key; from the next request on it authenticates nobody."""
    found = await get_key(session, tenant_id, key_id)
    if found.revoked_at is not None:
        return found
    now = datetime.now(UTC)
    await session.execute(
        sa.update(api_key)
        .where(api_key.c.tenant_id == tenant_id, api_key.c.id == key_id)
        .values(revoked_at=now)
    )
    return dataclasses.replace(found, revoked_at=now)
