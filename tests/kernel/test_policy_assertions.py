"""The policy assertion file (policy_assertions.yaml), one test per assertion.

Decisions go through ``TenantPolicy.decide`` (or ``allows_at`` for an assertion about
a store) with the real model, the built-in grants and store permissions the centers
declare, and the file's stored rows for that tenant plus the platform's.
"""

from __future__ import annotations

import uuid
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from kernel.authz.enforcers import TenantPolicy, build_policy
from kernel.authz.permissions import Permission, merge_grants
from kernel.authz.rules import PolicyRow
from schema.subgraphs import SUBGRAPHS, store_permissions

FILE = Path(__file__).with_name("policy_assertions.yaml")
SPEC: dict[str, Any] = yaml.safe_load(FILE.read_text())
GRANTS = merge_grants([s.grants for s in SUBGRAPHS])
TENANT_IDS = {name: uuid.uuid4() for name in SPEC["tenants"]}
STORE_IDS = {name: uuid.uuid4() for name in SPEC["stores"]}


def _rows(name: str) -> list[PolicyRow]:
    rows = []
    for raw in SPEC["rules"].get(name, []):
        ptype, subject, obj, *rest = raw
        action = rest[0] if ptype == "p" else ""
        effect = rest[1] if ptype == "p" else "allow"
        # A g row may name the store the role is held at: [g, subject, role, "@store"].
        store = STORE_IDS[rest[0].removeprefix("@")] if ptype == "g" and rest else None
        rows.append(PolicyRow(ptype, subject, obj, action, effect, store))
    return rows


@cache
def policy_of(tenant: str) -> TenantPolicy:
    rows = [*_rows(tenant), *_rows("platform")]
    return build_policy(TENANT_IDS[tenant], 1, GRANTS, rows, store_permissions())


def decide(case: dict[str, Any]) -> bool:
    policy = policy_of(case["tenant"])
    if "store" not in case:
        return policy.decide(case["subject"], case["object"], case["action"])
    permission = Permission(case["object"], case["action"])
    return policy.allows_at(case["subject"], permission, STORE_IDS[case["store"]])


def test_the_file_is_well_formed() -> None:
    assert len(SPEC["assertions"]) >= 40
    required = {"subject", "tenant", "object", "action", "expected", "why"}
    for case in SPEC["assertions"]:
        assert required <= set(case) <= {*required, "store"}, case
        assert case.get("store", next(iter(STORE_IDS))) in STORE_IDS, case
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
    decided = decide(case)
    assert ("allow" if decided else "deny") == case["expected"], case["why"]
