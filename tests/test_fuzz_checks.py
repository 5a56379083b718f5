"""The fuzzer's check (tools/fuzz/zhongtai_checks.py) tells server faults from the API
working: a 5xx, an INTERNAL error, a stack trace or SQL text fail; client errors pass."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_checks() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "zhongtai_checks", ROOT / "tools" / "fuzz" / "zhongtai_checks.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECKS = load_checks()


def kinds(status: int, body: object) -> list[str]:
    text = body if isinstance(body, str) else json.dumps(body)
    return [kind for kind, _ in CHECKS.faults(status, text)]


def test_client_errors_and_user_errors_are_not_faults() -> None:
    refused = {
        "data": {"order": None},
        "errors": [{"message": "'x' is not a valid id", "extensions": {"code": "BAD_USER_INPUT"}}],
    }
    assert kinds(200, refused) == []
    assert (
        kinds(400, {"errors": [{"message": "Syntax Error", "extensions": {"code": "BAD_REQUEST"}}]})
        == []
    )
    user_errors = {"data": {"placeOrder": {"userErrors": [{"code": "OUT_OF_STOCK"}]}}}
    assert kinds(200, user_errors) == []


def test_a_5xx_and_an_internal_error_are_faults() -> None:
    assert kinds(500, "Internal Server Error") == ["http_5xx"]
    internal = {
        "data": None,
        "errors": [
            {"message": "internal error", "path": ["order"], "extensions": {"code": "INTERNAL"}}
        ],
    }
    assert kinds(200, internal) == ["internal"]


def test_a_stack_trace_or_sql_text_is_a_fault() -> None:
    trace = 'Traceback (most recent call last):\n  File "/app/kernel/db.py", line 85, in execute'
    assert kinds(200, {"errors": [{"message": trace}]}) == ["stack_trace"]
    for leaked in (
        'SELECT "order".trade_order.id FROM "order".trade_order WHERE id = $1',
        "(sqlalchemy.dialects.postgresql.asyncpg.Error) invalid byte sequence for encoding",
        'duplicate key value violates unique constraint "tenant_slug_key"',
        "invalid input syntax for type uuid: 'x'",
    ):
        assert kinds(200, {"errors": [{"message": leaked}]}) == ["sql_text"], leaked
