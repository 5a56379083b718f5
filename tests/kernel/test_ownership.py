"""Declared ownership rules become a filter: every row, the caller's own, or FORBIDDEN."""

from __future__ import annotations

import uuid

import pytest

from kernel.authn import Principal
from kernel.authz.enforcers import TenantPolicy, build_enforcer
from kernel.authz.ownership import EVERY_ROW, Ownership
from kernel.authz.permissions import Permission
from kernel.authz.rules import PolicyRow
from kernel.context import RequestContext
from kernel.errors import ForbiddenError

READ = Permission("order.order", "read")
READ_ANY = Permission("order.order", "read_any")
OWNERSHIP = Ownership(own=READ, any=READ_ANY)
GRANTS = {"customer": [READ], "cashier": [READ, READ_ANY]}


def context_for(role: str | None) -> RequestContext:
    tenant_id = uuid.uuid4()
    rows = [PolicyRow("g", "user:u", f"role:{role}", "", "allow")] if role else []
    policy = TenantPolicy(tenant_id, 1, build_enforcer(tenant_id, GRANTS, rows))
    principal = Principal(subject="user:u", tenant_id=tenant_id, subject_id="u")
    return RequestContext(principal=principal, policy=policy, db=None, request_id="r")  # type: ignore[arg-type]


def test_staff_reach_every_row() -> None:
    assert OWNERSHIP.scope(context_for("cashier")) is EVERY_ROW


def test_a_customer_reaches_only_their_own_rows() -> None:
    assert OWNERSHIP.scope(context_for("customer")) == "user:u"


def test_neither_is_forbidden_and_the_denial_recorded() -> None:
    context = context_for(None)
    with pytest.raises(ForbiddenError):
        OWNERSHIP.scope(context)
    assert context.denials == [READ]


def test_an_ownership_rule_pairs_two_actions_on_one_object() -> None:
    with pytest.raises(ValueError):
        Ownership(own=READ, any=Permission("points.account", "read"))
