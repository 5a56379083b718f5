"""User-facing docs stay true to the code: a permission or root field added without
its line in docs/authorization.md fails here."""

from __future__ import annotations

from pathlib import Path

from schema.permissions import grants_table, root_fields_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "authorization.md"


def test_authorization_doc_lists_every_grant() -> None:
    assert grants_table() in DOC.read_text(), "run: make docs"


def test_authorization_doc_lists_every_root_field() -> None:
    assert root_fields_table() in DOC.read_text(), "run: make docs"
