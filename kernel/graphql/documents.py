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
documents too (issue 18).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
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


class DocumentStore:
    """Documents by hash, the most recently used ``capacity`` of them."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._documents: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._documents)

    def lookup(self, digest: str) -> str | None:
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
