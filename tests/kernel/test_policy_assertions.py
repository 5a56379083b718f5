"""The policy assertion file (policy_assertions.yaml), one test per assertion.

Decisions go through ``TenantPolicy.decide`` with the real model, the built-in grants
the centers declare, and the file's stored rows for that tenant plus the platform's.
"""

from __future__ import annotations

import uuid
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from kernel.authz.enforcers import TenantPolicy, build_enforcer
from kernel.authz.permissions import merge_grants
from kernel.authz.rules import PolicyRow
from schema.subgraphs import SUBGRAPHS

FILE = Path(__file__).with_name("policy_assertions.yaml")
SPEC: dict[str, Any] = yaml.safe_load(FILE.read_text())
GRANTS = merge_grants([s.grants for s in SUBGRAPHS])
TENANT_IDS = {name: uuid.uuid4() for name in SPEC["tenants"]}


def _rows(name: str) -> list[PolicyRow]:
    rows = []
    for raw in SPEC["rules"].get(name, []):
        ptype, subject, obj, *rest = raw
        action = rest[0] if ptype == "p" else ""
        effect = rest[1] if ptype == "p" else "allow"
        rows.append(PolicyRow(ptype, subject, obj, action, effect))
    return rows


@cache
def policy_of(tenant: str) -> TenantPolicy:
    tenant_id = TENANT_IDS[tenant]
    enforcer = build_enforcer(tenant_id, GRANTS, [*_rows(tenant), *_rows("platform")])
    return TenantPolicy(tenant_id, 1, enforcer)


def test_the_file_is_well_formed() -> None:
    assert len(SPEC["assertions"]) >= 40
    for case in SPEC["assertions"]:
        assert set(case) == {"subject", "tenant", "object", "action", "expected", "why"}, case
        assert case["tenant"] in TENANT_IDS and case["expected"] in ("allow", "deny"), case
        assert case["why"].strip(), case
    crossing = [c for c in SPEC["assertions"] if "cross" in c["why"] or "tenant" in c["why"]]
    assert crossing


@pytest.mark.parametrize(
    "case",
    SPEC["assertions"],
    ids=[f"{i:02d}-{c['why'][:40]}" for i, c in enumerate(SPEC["assertions"])],
)
def test_assertion(case: dict[str, Any]) -> None:
    decided = policy_of(case["tenant"]).decide(case["subject"], case["object"], case["action"])
    assert ("allow" if decided else "deny") == case["expected"], case["why"]
