"""Relay cursor pagination: opaque cursors over a stable (sort key, id) order."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry

from kernel.errors import UserInputError
from kernel.graphql.types import PageInfo

NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")

MAX_PAGE_SIZE = 100


@strawberry.type
class Edge(Generic[NodeT]):
    node: NodeT
    cursor: str


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What a repository needs: how many rows (one extra to see a next page) after what."""

    limit: int
    after: list[Any] | None

    def after_id(self) -> uuid.UUID | None:
        """The id of the last row seen, for lists ordered by id alone."""
        if not self.after:
            return None
        try:
            return uuid.UUID(str(self.after[-1]))
        except ValueError:
            raise UserInputError(
                "malformed cursor", code="INVALID_CURSOR", field=["after"]
            ) from None


def encode_cursor(values: Sequence[Any]) -> str:
    if all(isinstance(v, uuid.UUID) for v in values):
        # What json.dumps writes for UUIDs (hex and dashes need no escaping), quicker.
        raw = '["' + '","'.join(map(str, values)) + '"]'
    else:
        raw = json.dumps([str(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise UserInputError("malformed cursor", code="INVALID_CURSOR", field=["after"]) from None
    if not isinstance(values, list):
        raise UserInputError("malformed cursor", code="INVALID_CURSOR", field=["after"])
    return values


def page_request(first: int, after: str | None) -> PageRequest:
    if first < 1 or first > MAX_PAGE_SIZE:
        raise UserInputError(
            f"first must be between 1 and {MAX_PAGE_SIZE}",
            code="INVALID_PAGE_SIZE",
            field=["first"],
        )
    return PageRequest(limit=first + 1, after=decode_cursor(after) if after else None)


def connection(
    rows: Sequence[RowT],
    request: PageRequest,
    to_node: Callable[[RowT], NodeT],
    cursor_of: Callable[[RowT], Sequence[Any]],
) -> Connection[NodeT]:
    page = list(rows[: request.limit - 1])
    edges = [Edge(node=to_node(row), cursor=encode_cursor(cursor_of(row))) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) >= request.limit,
            has_previous_page=request.after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
