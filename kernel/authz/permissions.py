"""Permissions centers declare in their ``policy.py`` and built-in roles."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

BUILTIN_ROLES = ("platform_admin", "tenant_admin", "store_manager", "cashier", "customer")
PLATFORM_ROLES = ("platform_admin",)
PLATFORM_DOMAIN = "platform"

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# A caller: what identity providers use as ids, and no separator, wildcard or blank
# that Casbin or our rule rows could misread.
SUBJECT = re.compile(r"^(user|sa):[A-Za-z0-9][A-Za-z0-9._@|+-]{0,127}$")
_OBJECT = re.compile(r"^[a-z][a-z0-9_]{0,30}\.[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class Permission:
    """An action on a center's object, e.g. ``Permission("order.order", "create")``."""

    object: str
    action: str

    def __post_init__(self) -> None:
        if not _OBJECT.fullmatch(self.object) or not _IDENTIFIER.fullmatch(self.action):
            raise ValueError(f"malformed permission {self.object!r}:{self.action!r}")

    def __str__(self) -> str:
        return f"{self.object}:{self.action}"


@dataclass(frozen=True, slots=True)
class Authenticated:
    """Marks the few fields any authenticated caller may use (federation ``_service``)."""


AUTHENTICATED = Authenticated()

Requirement = Permission | Authenticated

# Role name -> permissions granted to it by default in every tenant.
RoleGrants = Mapping[str, Sequence[Permission]]


def role_subject(role: str) -> str:
    if not _IDENTIFIER.fullmatch(role):
        raise ValueError(f"malformed role name {role!r}")
    return f"role:{role}"


def merge_grants(grants: Sequence[RoleGrants]) -> dict[str, list[Permission]]:
    merged: dict[str, list[Permission]] = {}
    for one in grants:
        for role, permissions in one.items():
            if role not in BUILTIN_ROLES:
                raise ValueError(f"grant to unknown built-in role {role!r}")
            merged.setdefault(role, []).extend(permissions)
    return merged
