"""The permission matrix of the built-in roles, as documented in docs/authorization.md."""

from __future__ import annotations

from pathlib import Path

from kernel.authz.permissions import BUILTIN_ROLES, Permission, merge_grants
from kernel.graphql.fields import NARROWED, StoreArg, StoreBinding, StoreOf
from kernel.graphql.subgraph import declared_requirement, declared_store, root_types
from schema.subgraphs import SUBGRAPHS, store_permissions


def grants_table() -> str:
    """A markdown table: one row per permission, one column per built-in role."""
    grants = merge_grants([s.grants for s in SUBGRAPHS])
    permissions = sorted(
        {p for granted in grants.values() for p in granted} | set(_declared()),
        key=str,
    )
    header = "| permission | " + " | ".join(BUILTIN_ROLES) + " | held at a store |"
    rule = "|---|" + "---|" * (len(BUILTIN_ROLES) + 1)
    rows = [
        f"| `{p}` | "
        + " | ".join("✓" if p in grants.get(role, []) else "" for role in BUILTIN_ROLES)
        + f" | {_at_store(p)} |"
        for p in permissions
    ]
    return "\n".join([header, rule, *rows])


def _at_store(permission: object) -> str:
    """What a role held at a store conveys of ``permission``."""
    scopes = store_permissions()
    if not isinstance(permission, Permission):
        return ""
    if permission in scopes.at_store:
        return "that store's"
    if permission in scopes.shared:
        return "shared"
    return "—"


def _binding(binding: StoreBinding | None) -> str:
    if isinstance(binding, StoreArg):
        return f"`{binding.path}`"
    if isinstance(binding, StoreOf):
        return f"store of `{binding.path}`"
    if binding is NARROWED:
        return "narrowed"
    return ""


def root_fields_table() -> str:
    """A markdown table: every root field and the permission it requires."""
    rows = []
    for subgraph in SUBGRAPHS:
        for root in root_types(subgraph.graphql_schema):
            for name, field in sorted(root.fields.items()):
                requirement = declared_requirement(field)
                if requirement is not None:
                    rows.append(
                        f"| {subgraph.name} | `{root.name}.{name}` | `{requirement}` "
                        f"| {_binding(declared_store(field))} |"
                    )
    header = "| center | field | requires | store (roles held at a store) |"
    return "\n".join([header, "|---|---|---|---|", *rows])


def _declared() -> list[object]:
    return [
        requirement
        for subgraph in SUBGRAPHS
        for root in root_types(subgraph.graphql_schema)
        for field in root.fields.values()
        if (requirement := declared_requirement(field)) is not None
    ]


def rewrite(doc: Path) -> None:
    """Replace the generated tables between their markers in ``doc``."""
    text = doc.read_text()
    for marker, table in (("grants", grants_table()), ("root-fields", root_fields_table())):
        start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
        before, _, rest = text.partition(start)
        _, _, after = rest.partition(end)
        text = f"{before}{start}\n{table}\n{end}{after}"
    doc.write_text(text)


if __name__ == "__main__":
    rewrite(Path(__file__).resolve().parents[1] / "docs" / "authorization.md")
