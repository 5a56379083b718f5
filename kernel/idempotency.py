"""Idempotency keys for mutations that create or move money and stock.

The key is claimed first, inside the mutation's transaction, together with the id the
result will have. A concurrent replay blocks on the unique index until the first
transaction ends: if it committed, the replay finds the claim and returns the first
result; if it rolled back, the replay runs as the first attempt. A key reused with
different input is refused rather than silently answered with another request's result.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.batch import Batch, Column
from kernel.errors import UserInputError

metadata = sa.MetaData(schema="kernel")

idempotency_key = sa.Table(
    "idempotency_key",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("scope", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("result_id", sa.Uuid, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

MAX_KEY_LENGTH = 128

# Built once: a statement built per call costs more CPU than its round trip.
_CLAIM = (
    insert(idempotency_key)
    .values(
        tenant_id=sa.bindparam("tenant_id"),
        scope=sa.bindparam("scope"),
        key=sa.bindparam("key"),
        request_hash=sa.bindparam("request_hash"),
        result_id=sa.bindparam("result_id"),
        created_at=sa.bindparam("created_at"),
    )
    .on_conflict_do_nothing()
    .returning(idempotency_key.c.result_id)
)
_FIRST = sa.select(idempotency_key.c.request_hash, idempotency_key.c.result_id).where(
    idempotency_key.c.tenant_id == sa.bindparam("tenant_id"),
    idempotency_key.c.scope == sa.bindparam("scope"),
    idempotency_key.c.key == sa.bindparam("key"),
)


@dataclass(frozen=True, slots=True)
class Claim:
    result_id: uuid.UUID
    replayed: bool


def request_hash(request: Any) -> str:
    canonical = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _checked(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise UserInputError(
            f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} printable characters",
            code="INVALID_IDEMPOTENCY_KEY",
            field=["input", "idempotencyKey"],
        )
    return key


async def claim(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    scope: str,
    key: str,
    request: Any,
    result_id: uuid.UUID,
) -> Claim:
    """Claim ``key`` for ``result_id``, or return the id of the first request's result."""
    digest = request_hash(request)
    inserted = await session.scalar(
        _CLAIM,
        {
            "tenant_id": tenant_id,
            "scope": scope,
            "key": _checked(key),
            "request_hash": digest,
            "result_id": result_id,
            "created_at": datetime.now(UTC),
        },
    )
    return await _settle(session, tenant_id, scope, key, digest, inserted)


_CLAIM_SQL = (
    "INSERT INTO kernel.idempotency_key"
    " (tenant_id, scope, key, request_hash, result_id, created_at)"
    " VALUES ({values}) ON CONFLICT DO NOTHING RETURNING result_id"
)


@dataclass(frozen=True, slots=True)
class PendingClaim:
    """A claim sent in a ``kernel.batch``; ``settle`` it with the batch's row."""

    tenant_id: uuid.UUID
    scope: str
    key: str
    digest: str
    inserted: Column[uuid.UUID | None]

    async def settle(self, session: AsyncSession, row: Mapping[str, Any]) -> Claim:
        """The claim, or the first request's result (one more statement, on a replay)."""
        return await _settle(
            session, self.tenant_id, self.scope, self.key, self.digest, self.inserted.of(row)
        )


def claim_in(
    batch: Batch,
    tenant_id: uuid.UUID,
    scope: str,
    key: str,
    request: Any,
    result_id: uuid.UUID,
) -> PendingClaim:
    """``claim`` as a part of ``batch``: the key is claimed in the batch's statement,
    before anything the batch reads is used (a replay ignores those reads)."""
    digest = request_hash(request)
    name = batch.fresh("claim")
    values = ", ".join(
        (
            batch.arg(tenant_id, "uuid"),
            batch.arg(scope, "text"),
            batch.arg(_checked(key), "text"),
            batch.arg(digest, "text"),
            batch.arg(result_id, "uuid"),
            batch.arg(datetime.now(UTC), "timestamptz"),
        )
    )
    batch.add(
        name,
        _CLAIM_SQL.format(values=values),
    )
    inserted = batch.column(f"{name}_id", f"SELECT result_id FROM {name}", _optional_uuid)  # noqa: S608
    return PendingClaim(tenant_id, scope, key, digest, inserted)


def _optional_uuid(value: Any) -> uuid.UUID | None:
    return value if value is None or isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def _settle(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    scope: str,
    key: str,
    digest: str,
    inserted: uuid.UUID | None,
) -> Claim:
    if inserted is not None:
        return Claim(result_id=inserted, replayed=False)
    identity = {"tenant_id": tenant_id, "scope": scope, "key": key}
    first = (await session.execute(_FIRST, identity)).one()
    if first.request_hash != digest:
        raise UserInputError(
            "this idempotencyKey was already used for a different request",
            code="IDEMPOTENCY_KEY_REUSED",
            field=["input", "idempotencyKey"],
        )
    return Claim(result_id=first.result_id, replayed=True)
