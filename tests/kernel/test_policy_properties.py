"""Properties of the authorization model, over random policies (hypothesis).

- a subject of tenant A is never allowed anything in tenant B;
- adding a deny rule never allows anything new;
- removing an allow rule (a grant) never widens anything;
and with roles held at stores (kernel.authz.stores), deciding tenant-wide and per store:
- adding a deny, or removing a grant or an assignment, never widens anything anywhere;
- a role held at one store adds nothing at another store, nor tenant-wide, except the
  permissions declared shared.
"""

from __future__ import annotations

import uuid
from typing import Any

import casbin
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel.authz.enforcers import MODEL_TEXT, TenantPolicy, build_enforcer, build_policy
from kernel.authz.permissions import PLATFORM_DOMAIN, PLATFORM_ROLES, Permission, merge_grants
from kernel.authz.rules import PolicyRow
from schema.subgraphs import SUBGRAPHS, store_permissions

GRANTS = merge_grants([s.grants for s in SUBGRAPHS])
_ALL = sorted({p for granted in GRANTS.values() for p in granted}, key=str)
# A spread of a dozen permissions, and the built-in grants cut down to them, keep each
# example fast (Casbin evaluates every rule per decision, in Python).
PERMISSIONS = _ALL[:: max(1, len(_ALL) // 12)]
GRANTS = {role: [p for p in granted if p in PERMISSIONS] for role, granted in GRANTS.items()}
ROLES = ["role:tenant_admin", "role:cashier", "role:customer", "role:custom_a", "role:custom_b"]
A_USERS = ["user:a1", "user:a2", "sa:a3"]
B_USERS = ["user:b1", "user:b2"]
TENANT_A, TENANT_B = uuid.uuid4(), uuid.uuid4()

PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def rows(subjects: list[str]) -> st.SearchStrategy[list[PolicyRow]]:
    grouping = st.builds(
        lambda s, r: PolicyRow("g", s, r, "", "allow"),
        st.sampled_from(subjects),
        st.sampled_from(ROLES),
    )
    rule = st.builds(
        lambda s, p, e: PolicyRow("p", s, p.object, p.action, e),
        st.sampled_from([*subjects, *ROLES]),
        st.sampled_from(PERMISSIONS),
        st.sampled_from(["allow", "deny"]),
    )
    return st.lists(st.one_of(grouping, rule), max_size=12)


def decisions(policy: TenantPolicy, subjects: list[str]) -> set[tuple[str, Permission]]:
    return {(s, p) for s in subjects for p in PERMISSIONS if policy.allows(s, p)}


def one_enforcer_for_both(a_rows: list[PolicyRow], b_rows: list[PolicyRow]) -> Any:
    """Both tenants in ONE enforcer, so only the domain keeps them apart."""
    enforcer = casbin.Enforcer(casbin.Enforcer.new_model(text=MODEL_TEXT))
    for tenant, tenant_rows in ((TENANT_A, a_rows), (TENANT_B, b_rows)):
        domain = str(tenant)
        for role, permissions in GRANTS.items():
            role_domain = PLATFORM_DOMAIN if role in PLATFORM_ROLES else domain
            for p in permissions:
                enforcer.add_policy(f"role:{role}", role_domain, p.object, p.action, "allow")
        for row in tenant_rows:
            if row.ptype == "p":
                enforcer.add_policy(row.subject, domain, row.object, row.action, row.effect)
            else:
                enforcer.add_named_grouping_policy("g", row.subject, row.object, domain)
    return enforcer


@PROPERTY_SETTINGS
@given(a_rows=rows(A_USERS), b_rows=rows(B_USERS))
def test_a_subject_of_tenant_a_is_never_allowed_in_tenant_b(
    a_rows: list[PolicyRow], b_rows: list[PolicyRow]
) -> None:
    enforcer = one_enforcer_for_both(a_rows, b_rows)
    in_b = TenantPolicy(TENANT_B, 1, enforcer)
    assert decisions(in_b, A_USERS) == set()
    # The tenant's own enforcer (what the server builds) agrees.
    assert (
        decisions(TenantPolicy(TENANT_B, 1, build_enforcer(TENANT_B, GRANTS, b_rows)), A_USERS)
        == set()
    )


@PROPERTY_SETTINGS
@given(
    base=rows(A_USERS),
    subject=st.sampled_from([*A_USERS, *ROLES]),
    permission=st.sampled_from(PERMISSIONS),
)
def test_adding_a_deny_never_allows(
    base: list[PolicyRow], subject: str, permission: Permission
) -> None:
    before = TenantPolicy(TENANT_A, 1, build_enforcer(TENANT_A, GRANTS, base))
    deny = PolicyRow("p", subject, permission.object, permission.action, "deny")
    after = TenantPolicy(TENANT_A, 2, build_enforcer(TENANT_A, GRANTS, [*base, deny]))
    assert decisions(after, A_USERS) <= decisions(before, A_USERS)


@PROPERTY_SETTINGS
@given(base=rows(A_USERS), pick=st.integers(min_value=0))
def test_removing_a_grant_never_widens(base: list[PolicyRow], pick: int) -> None:
    grants = [i for i, row in enumerate(base) if row.ptype == "p" and row.effect == "allow"]
    if not grants:
        return
    removed = grants[pick % len(grants)]
    before = TenantPolicy(TENANT_A, 1, build_enforcer(TENANT_A, GRANTS, base))
    remaining = [row for i, row in enumerate(base) if i != removed]
    after = TenantPolicy(TENANT_A, 2, build_enforcer(TENANT_A, GRANTS, remaining))
    assert decisions(after, A_USERS) <= decisions(before, A_USERS)


# --- roles held at stores -------------------------------------------------------------

SCOPES = store_permissions()
STORES = [uuid.uuid4(), uuid.uuid4()]
PLACES: list[uuid.UUID | None] = [None, *STORES]  # None: the decision is tenant-wide


def store_rows(subjects: list[str]) -> st.SearchStrategy[list[PolicyRow]]:
    held = st.builds(
        lambda s, r, store: PolicyRow("g", s, r, "", "allow", store),
        st.sampled_from(subjects),
        st.sampled_from(ROLES),
        st.sampled_from(PLACES),
    )
    rule = st.builds(
        lambda s, p, e: PolicyRow("p", s, p.object, p.action, e),
        st.sampled_from([*subjects, *ROLES]),
        st.sampled_from(PERMISSIONS),
        st.sampled_from(["allow", "deny"]),
    )
    return st.lists(st.one_of(held, rule), max_size=12)


def policy(rows_: list[PolicyRow]) -> TenantPolicy:
    return build_policy(TENANT_A, 1, GRANTS, rows_, SCOPES)


def everywhere(
    decided: TenantPolicy, permissions: list[Permission] = PERMISSIONS
) -> set[tuple[str, Permission, uuid.UUID | None]]:
    found = set()
    for subject in A_USERS:
        for permission in permissions:
            for place in PLACES:
                allowed = (
                    decided.allows(subject, permission)
                    if place is None
                    else decided.allows_at(subject, permission, place)
                )
                if allowed:
                    found.add((subject, permission, place))
    return found


@PROPERTY_SETTINGS
@given(
    base=store_rows(A_USERS),
    subject=st.sampled_from([*A_USERS, *ROLES]),
    permission=st.sampled_from(PERMISSIONS),
)
def test_with_store_roles_adding_a_deny_never_allows_anywhere(
    base: list[PolicyRow], subject: str, permission: Permission
) -> None:
    deny = PolicyRow("p", subject, permission.object, permission.action, "deny")
    assert everywhere(policy([*base, deny])) <= everywhere(policy(base))


@PROPERTY_SETTINGS
@given(base=store_rows(A_USERS), pick=st.integers(min_value=0))
def test_removing_a_grant_or_an_assignment_never_widens_anywhere(
    base: list[PolicyRow], pick: int
) -> None:
    removable = [i for i, row in enumerate(base) if row.ptype == "g" or row.effect == "allow"]
    if not removable:
        return
    removed = removable[pick % len(removable)]
    remaining = [row for i, row in enumerate(base) if i != removed]
    # Removing an assignment also drops its role's deny rows for that subject; so only
    # compare when the removed row held no role that denies anything.
    if base[removed].ptype == "g" and any(
        row.ptype == "p" and row.effect == "deny" and row.subject == base[removed].object
        for row in base
    ):
        return
    assert everywhere(policy(remaining)) <= everywhere(policy(base))


@PROPERTY_SETTINGS
@given(base=store_rows(A_USERS), at=st.sampled_from(STORES))
def test_a_role_held_at_one_store_adds_nothing_elsewhere_but_shared_permissions(
    base: list[PolicyRow], at: uuid.UUID
) -> None:
    not_shared = [p for p in PERMISSIONS if p not in SCOPES.shared]
    # Without the roles held at other stores (and without their deny rows' effect,
    # which can only narrow), nothing at ``at`` or tenant-wide is lost.
    elsewhere = [row for row in base if not (row.ptype == "g" and row.store_id not in (None, at))]
    with_all = everywhere(policy(base), not_shared)
    without = everywhere(policy(elsewhere), not_shared)
    assert {d for d in with_all if d[2] in (None, at)} <= without
    # And a store where a subject holds nothing is decided exactly as tenant-wide.
    decided = policy(base)
    for subject in A_USERS:
        holds_at = {row.store_id for row in base if row.ptype == "g" and row.subject == subject}
        for store in STORES:
            if store in holds_at:
                continue
            for permission in PERMISSIONS:
                assert decided.allows_at(subject, permission, store) == decided.allows(
                    subject, permission
                )
