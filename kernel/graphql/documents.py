"""Operation documents known by their SHA-256: automatic persisted queries (APQ).

A client that speaks APQ (Apollo's and urql's persisted-query links) first sends only
``extensions.persistedQuery = {version: 1, sha256Hash}``. If the hash is known, the
document it names runs; if not, the answer is ``PERSISTED_QUERY_NOT_FOUND`` and the
client sends the query again with the hash, which registers it once the server has
checked that the hash is the query's SHA-256 (a mismatch is refused: nobody can plant a
document under another document's hash). Hashed queries may use GET, so CDNs and
browsers can cache them by URL.

The store is per process and bounded (LRU): a miss only costs the client one retry
with the full text. It is the one place that maps a hash to a document, for trusted
documents too (issue 18): documents a front end's build registered in a manifest
(``ZHONGTAI_TRUSTED_DOCUMENTS``), kept for good and answerable by hash from the first
request. A tenant in trusted-documents-only mode runs nothing else (decision 0103).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
# What Apollo's link also recognizes by message, from servers older than the code.
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"
APQ_VERSION = 1


class DocumentRefused(Exception):
    """The request names its document in a way we cannot serve."""

    def __init__(self, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class PersistedQuery:
    sha256: str


def document_hash(query: str) -> str:
    """The SHA-256 of a document's text, lower-case hex (what the clients compute)."""
    return hashlib.sha256(query.encode()).hexdigest()


def persisted_query(extensions: dict[str, Any] | None) -> PersistedQuery | None:
    """The ``persistedQuery`` extension of a request, checked for shape."""
    if not extensions or "persistedQuery" not in extensions:
        return None
    value = extensions["persistedQuery"]
    if not isinstance(value, dict):
        raise DocumentRefused("extensions.persistedQuery must be an object")
    if value.get("version") != APQ_VERSION:
        raise DocumentRefused(f"unsupported persisted query version; use {APQ_VERSION}")
    digest = value.get("sha256Hash")
    if (
        not isinstance(digest, str)
        or len(digest) != 64
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise DocumentRefused("extensions.persistedQuery.sha256Hash must be 64 lower-case hex")
    return PersistedQuery(digest)


def load_manifest(path: Path) -> dict[str, str]:
    """Trusted documents from a build's manifest, each checked against its hash.

    Two formats: GraphQL Codegen's ``persisted-documents.json`` (``{hash: document}``)
    and Apollo's ``persisted-query-manifest.json`` (``{"operations": [{"id", "body"}]}``).
    A hash that is not its document's SHA-256 refuses the whole manifest."""
    raw: Any = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(raw, dict) and isinstance(raw.get("operations"), list):
        pairs = [(op.get("id"), op.get("body")) for op in raw["operations"]]
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise ValueError(f"{path}: not a persisted documents manifest")
    documents: dict[str, str] = {}
    for digest, body in pairs:
        if not isinstance(digest, str) or not isinstance(body, str):
            raise ValueError(f"{path}: every entry needs a hash and a document")
        digest = digest.removeprefix("sha256:")
        if document_hash(body) != digest:
            raise ValueError(f"{path}: {digest} is not the SHA-256 of its document")
        documents[digest] = body
    return documents


class DocumentStore:
    """Documents by hash: the trusted ones for good, and the most recently used
    ``capacity`` of those registered by clients (APQ)."""

    def __init__(self, capacity: int, trusted: Mapping[str, str] | None = None) -> None:
        self._capacity = capacity
        self._documents: OrderedDict[str, str] = OrderedDict()
        self._trusted: dict[str, str] = dict(trusted or {})

    def __len__(self) -> int:
        return len(self._documents) + len(self._trusted)

    def is_trusted(self, query: str) -> bool:
        """Is ``query`` (the exact text) one of the trusted documents?"""
        return bool(self._trusted) and document_hash(query) in self._trusted

    def lookup(self, digest: str) -> str | None:
        trusted = self._trusted.get(digest)
        if trusted is not None:
            return trusted
        found = self._documents.get(digest)
        if found is not None:
            self._documents.move_to_end(digest)
        return found

    def register(self, digest: str, query: str) -> None:
        """Keep ``query`` under ``digest`` (which the caller checked is its hash)."""
        if self._capacity <= 0:
            return
        self._documents[digest] = query
        self._documents.move_to_end(digest)
        while len(self._documents) > self._capacity:
            self._documents.popitem(last=False)

    def resolve(self, query: str | None, persisted: PersistedQuery | None) -> str:
        """The document text a request runs: its ``query``, or the one its hash names.

        Raises ``DocumentRefused`` with ``PERSISTED_QUERY_NOT_FOUND`` for an unknown
        hash, and ``BAD_REQUEST`` for a query that does not match its hash."""
        if persisted is None:
            if query is None:
                raise DocumentRefused("query must be a non-empty string")
            return query
        if query is None:
            known = self.lookup(persisted.sha256)
            if known is None:
                raise DocumentRefused(NOT_FOUND_MESSAGE, PERSISTED_QUERY_NOT_FOUND)
            return known
        if document_hash(query) != persisted.sha256:
            raise DocumentRefused("provided sha256Hash does not match the query")
        return query
