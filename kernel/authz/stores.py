"""Store-scoped role assignments: which permissions a role held at one store conveys.

A subject may hold a role tenant-wide or at named stores (``kernel.policy_rule`` ``g``
rows with a ``store_id``). A role held at a store conveys only the permissions the
centers declare as store permissions (``at_store``: the resource belongs to a store,
e.g. an order, a stock level, a shipment), and only on that store's resources, plus
the permissions declared ``shared`` (tenant data store staff need everywhere, e.g.
reading the catalog or finding a member at the till). Every other permission needs the
role tenant-wide, so a store-scoped assignment never reaches tenant administration.

Casbin decides in three kinds of grouping scope (see ``model.conf``): the tenant
(roles held tenant-wide), one store (tenant-wide roles plus the roles held there),
and every store (all the subject's roles, for shared permissions). A deny row of any
role the subject holds, wherever it holds it, applies in every scope.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from kernel.authz.permissions import Permission


class _EveryStore:
    def __repr__(self) -> str:
        return "EVERY_STORE"


EVERY_STORE: Final = _EveryStore()

# Where a permission reaches: every store of the tenant, or the stores listed (possibly none).
StoreScope = _EveryStore | frozenset[uuid.UUID]


@dataclass(frozen=True, slots=True)
class StorePermissions:
    """What a center's permissions mean to a role held at a store."""

    at_store: frozenset[Permission] = frozenset()
    shared: frozenset[Permission] = frozenset()

    def __post_init__(self) -> None:
        both = self.at_store & self.shared
        if both:
            raise ValueError(f"declared both at-store and shared: {sorted(map(str, both))}")


def store_permissions(
    *, at_store: Iterable[Permission] = (), shared: Iterable[Permission] = ()
) -> StorePermissions:
    return StorePermissions(frozenset(at_store), frozenset(shared))


def merge_store_permissions(declared: Iterable[StorePermissions]) -> StorePermissions:
    at_store: set[Permission] = set()
    shared: set[Permission] = set()
    for one in declared:
        at_store |= one.at_store
        shared |= one.shared
    return StorePermissions(frozenset(at_store), frozenset(shared))


def tenant_scope(tenant_id: uuid.UUID) -> str:
    return str(tenant_id)


def store_scope(tenant_id: uuid.UUID, store_id: uuid.UUID) -> str:
    return f"{tenant_id}/{store_id}"


def any_store_scope(tenant_id: uuid.UUID) -> str:
    # Must equal ``r.dom + "/stores"`` in model.conf.
    return f"{tenant_id}/stores"


def covers(scope: StoreScope, store_id: uuid.UUID | None) -> bool:
    """Whether ``scope`` reaches a resource of ``store_id`` (``None``: no store)."""
    if isinstance(scope, _EveryStore):
        return True
    return store_id is not None and store_id in scope
