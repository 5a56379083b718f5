"""Schemathesis hooks for ``make fuzz`` (loaded through ``SCHEMATHESIS_HOOKS``).

- ``zhongtai_server_faults``: the only check the fuzzer runs. A response fails it when
  it is an HTTP 5xx, carries an error whose ``extensions.code`` is ``INTERNAL``, or
  shows a stack trace or SQL text anywhere in its body. Client errors
  (``BAD_USER_INPUT``, ``NOT_FOUND``, ``FORBIDDEN``, userErrors…) are the API working.
- Scalars: ``ID`` and ``String`` arguments are drawn half from the demo tenant's real
  ids and codes (so resolvers get past "not found" into the code behind it), half as
  schemathesis would; ``JSON`` arguments as arbitrary JSON values.

Every response and every finding is appended to ``ZHONGTAI_FUZZ_LOG`` (JSON lines) for
the summary ``tools/fuzz/run.py`` prints.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

STACK_TRACE = re.compile(
    r"Traceback \(most recent call last\)"
    r'|File "[^"\n]+", line \d+'
    r"|\bat [\w$.]+\([\w$]+\.(?:java|kt|js|ts):\d+\)"
    r"|/site-packages/"
)
SQL_TEXT = re.compile(
    r"\bSELECT\b[^{}]{0,300}?\bFROM\b"
    r"|\bINSERT\s+INTO\b|\bDELETE\s+FROM\b|\bUPDATE\s+\w+(?:\.\w+)?\s+SET\b"
    r"|\[SQL:|\(Background on this error|sqlalchemy\.|asyncpg\.|psycopg"
    r"|\bviolates (?:foreign key|unique|check|not-null|exclusion) constraint\b"
    r"|\bduplicate key value\b|\bsyntax error at or near\b"
    r"|\binvalid input (?:syntax|value) for (?:type|enum)\b"
    r"|\bvalue too long for type\b|\bout of range for type\b|\bnumeric field overflow\b"
    r"|\binvalid byte sequence for encoding\b|\bunsupported Unicode escape sequence\b"
    r'|\brelation "[^"]+" does not exist\b|\bcolumn "[^"]+" (?:does not exist|of relation)',
    re.IGNORECASE,
)

_lock = threading.Lock()
_LOG = os.environ.get("ZHONGTAI_FUZZ_LOG")


def _record(entry: dict[str, Any]) -> None:
    if not _LOG:
        return
    with _lock, Path(_LOG).open("a") as out:
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _errors(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [e for e in body["errors"] if isinstance(e, dict)]
    return []


def faults(status: int, text: str) -> list[tuple[str, str]]:
    """(kind, signature) of every server fault a response shows."""
    found: list[tuple[str, str]] = []
    if status >= 500:
        found.append(("http_5xx", f"HTTP {status}: {text[:120]}"))
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    for error in _errors(body):
        extensions = error.get("extensions")
        if isinstance(extensions, dict) and extensions.get("code") == "INTERNAL":
            path = ".".join(str(p) for p in error.get("path") or [])
            request_id = extensions.get("requestId", "")
            found.append(("internal", f"at {path or '-'} (request {request_id})"))
    trace = STACK_TRACE.search(text)
    if trace:
        found.append(("stack_trace", text[max(0, trace.start() - 60) : trace.end() + 60]))
    sql = SQL_TEXT.search(text)
    if sql:
        found.append(("sql_text", text[max(0, sql.start() - 60) : sql.end() + 60]))
    return found


@schemathesis.check
def zhongtai_server_faults(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx, no INTERNAL, no stack trace, no SQL text: the server never blames itself
    for a client's input, and never shows its insides."""
    operation = case.operation.label
    _record({"kind": "exercised", "operation": operation, "status": response.status_code})
    found = faults(response.status_code, response.text or "")
    for kind, signature in found:
        _record(
            {
                "kind": kind,
                "operation": operation,
                "signature": signature,
                "status": response.status_code,
                "request": case.body if isinstance(case.body, str | dict) else str(case.body),
            }
        )
    if found:
        raise AssertionError("; ".join(f"{kind}: {signature}" for kind, signature in found))
    return None


def _samples() -> dict[str, list[str]]:
    path = os.environ.get("ZHONGTAI_FUZZ_SAMPLES")
    if not path:
        return {"ids": [], "strings": []}
    loaded: dict[str, list[str]] = json.loads(Path(path).read_text())
    return loaded


def _json_value() -> st.SearchStrategy[Any]:
    leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=12), children, max_size=4)
        ),
        max_leaves=12,
    )


def _json_node(value: Any) -> Any:
    """A GraphQL value literal for a JSON value (objects and lists as literals)."""
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([_json_node(v) for v in value])
    return nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=_json_node(v))
            for k, v in value.items()
            if re.match(r"^[_A-Za-z]\w*$", k)
        ]
    )


_SAMPLES = _samples()
_real_ids = st.sampled_from(_SAMPLES["ids"]) if _SAMPLES["ids"] else st.uuids().map(str)
_real_strings = (
    st.sampled_from(_SAMPLES["strings"]) if _SAMPLES["strings"] else st.text(max_size=20)
)

schemathesis.graphql.scalar(
    "ID", st.one_of(_real_ids, st.uuids().map(str), st.text(max_size=40)).map(nodes.String)
)
# Past every column's length too (codes 63, names 200, URLs 2000): a too-long value must
# be a user error, never PostgreSQL's "value too long".
_long_text = st.tuples(st.integers(64, 6000), st.text(min_size=1, max_size=8)).map(
    lambda size_and_unit: (size_and_unit[1] * size_and_unit[0])[: size_and_unit[0]]
)
schemathesis.graphql.scalar(
    "String",
    st.one_of(_real_strings, _real_ids, st.text(max_size=60), _long_text).map(nodes.String),
)
schemathesis.graphql.scalar("JSON", _json_value().map(_json_node))
