"""How a center says where its GraphQL types live in SQL (read by the plan compiler).

A center declares, next to its types (``centers/<c>/graphql/sql_map.py``), one
``TypeMap`` per object type it can compile, and ``RootMap``s for root query fields. A
field absent from a map is simply not compiled: an operation that selects it takes the
generic path. Templates are SQL text with ``{row}`` standing for the alias of the row
of the type being built; every row of an entity type has ``tenant_id`` and ``id``, so
another center can hang its own fields on it (stock's ``Sku.stock``).

A field map's SQL must give exactly the JSON value the generic resolver serializes:
the differential tests of each center (both paths, same bytes) are the proof.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kernel.context import RequestContext

# Arguments of a field, as graphql-core coerced them (variables applied).
Args = Mapping[str, Any]


class Unplannable(Exception):
    """Raised by a map's callable: this request takes the generic path instead."""


@dataclass(frozen=True, slots=True)
class Leaf:
    """A scalar or enum field: an SQL expression whose JSON value is the field's value."""

    sql: str


@dataclass(frozen=True, slots=True)
class Composite:
    """An object built from the same row (``Money`` from an amount and a currency)."""

    type_name: str
    fields: Mapping[str, FieldMap]


@dataclass(frozen=True, slots=True)
class Rows:
    """A list of rows of ``type_name``: ``source`` is a FROM item (a table or a derived
    table) and ``where`` its join on ``{row}``, the parent; ``{child}`` is the child's
    alias in ``where`` and ``order``."""

    type_name: str
    source: str
    where: str
    order: str


@dataclass(frozen=True, slots=True)
class OneRow:
    """One row of ``type_name`` (or null): ``sql`` is a SELECT giving at most one row,
    written with ``{row}`` (the parent) and, for a field with arguments, the parameters."""

    type_name: str
    sql: str


@dataclass(frozen=True, slots=True)
class Param:
    """One statement parameter a field's arguments give: its SQL type and the function
    turning the arguments into its value (raise ``Unplannable`` to fall back)."""

    sql_type: str
    value: Callable[[Args], Any]


@dataclass(frozen=True, slots=True)
class WithArgs:
    """A field whose SQL uses its arguments (``priceIn(channel:, storeId:)``).

    ``params`` become statement parameters; ``build`` gets their placeholders (already
    cast, ``$3::uuid``) and returns the field's map. ``allowed`` is the field's own
    authorization, checked per request with the arguments' values: anything but a clean
    allow sends the request down the generic path, which answers the error."""

    params: Sequence[Param]
    build: Callable[[Sequence[str]], FieldMap]
    allowed: Callable[[RequestContext, Args], bool] | None = None


FieldMap = Leaf | Composite | Rows | OneRow | WithArgs


@dataclass(frozen=True, slots=True)
class TypeMap:
    """The compiled fields of one object type (several centers may add to one type)."""

    type_name: str
    fields: Mapping[str, FieldMap]


@dataclass
class Filters:
    """What a root map adds to its WHERE clause for one request: conditions on
    ``{row}`` whose parameters ``bind`` placed."""

    conditions: list[str] = field(default_factory=list)


class Binder:
    """Allocates ``$n`` placeholders for one request's parameters, in order."""

    def __init__(self, values: list[Any]) -> None:
        self.values = values

    def __call__(self, value: Any, sql_type: str) -> str:
        self.values.append(value)
        return f"${len(self.values)}::{sql_type}"


# (context, arguments, binder) -> the filters of this request, or None: generic path.
ScopeFn = Callable[[RequestContext, Args, Binder], Filters | None]


@dataclass(frozen=True, slots=True)
class ConnectionRoot:
    """A root field answering a Relay connection of ``type_name`` rows of ``table``,
    ordered by ``id`` (time-ordered UUIDv7 ids), newest first unless ``ascending``.

    ``scope`` returns the caller's filters (store narrowing, ownership, the field's own
    filter arguments) or ``None`` to fall back. The cursor is ``[id]``, as the generic
    path's ``connection(…, lambda row: [row.id])`` encodes it."""

    type_name: str
    table: str
    scope: ScopeFn
    ascending: bool = False


@dataclass(frozen=True, slots=True)
class ObjectRoot:
    """A root field answering one row of ``type_name`` of ``table`` or null; ``scope``
    adds the conditions that find it (the id argument, the caller's reach)."""

    type_name: str
    table: str
    scope: ScopeFn


RootMap = ConnectionRoot | ObjectRoot


@dataclass(frozen=True)
class SqlMap:
    """One center's contribution: type maps and root fields (by field name)."""

    types: Sequence[TypeMap] = ()
    roots: Mapping[str, RootMap] = field(default_factory=dict)


def money(amount: str, currency: str = "{row}.currency") -> Composite:
    """``Money { amount currency }`` from two columns."""
    return Composite("Money", {"amount": Leaf(amount), "currency": Leaf(currency)})


def iso_timestamp(expr: str) -> str:
    """A ``timestamptz`` as strawberry's ``DateTime`` prints it (Python's ``isoformat``
    of the UTC value asyncpg returns): microseconds only when not zero, ``+00:00``."""
    utc = f"({expr} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE WHEN date_part('microseconds', {utc})::bigint % 1000000 = 0 THEN '' "
        f"ELSE to_char({utc}, '.US') END || '+00:00')"
    )


def id_text(expr: str) -> str:
    """An id (UUID) as the API prints it."""
    return f"({expr})::text"


def parse_uuid(value: Any) -> uuid.UUID | None:
    """An ``ID`` argument as a UUID; a malformed one finds nothing (``None``)."""
    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
