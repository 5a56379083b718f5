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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

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


async def claim(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    scope: str,
    key: str,
    request: Any,
    result_id: uuid.UUID,
) -> Claim:
    """Claim ``key`` for ``result_id``, or return the id of the first request's result."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise UserInputError(
            f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} printable characters",
            code="INVALID_IDEMPOTENCY_KEY",
            field=["input", "idempotencyKey"],
        )
    digest = request_hash(request)
    identity = {"tenant_id": tenant_id, "scope": scope, "key": key}
    inserted = await session.scalar(
        _CLAIM,
        {
            **identity,
            "request_hash": digest,
            "result_id": result_id,
            "created_at": datetime.now(UTC),
        },
    )
    if inserted is not None:
        return Claim(result_id=inserted, replayed=False)
    first = (await session.execute(_FIRST, identity)).one()
    if first.request_hash != digest:
        raise UserInputError(
            "this idempotencyKey was already used for a different request",
            code="IDEMPOTENCY_KEY_REUSED",
            field=["input", "idempotencyKey"],
        )
    return Claim(result_id=first.result_id, replayed=True)
