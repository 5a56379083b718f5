"""Root fields declare the permission they need; nothing is served without one.

``guard_root_fields`` (see ``subgraph.py``) reads the declaration from the field's
metadata and checks it once per root field per request, in subgraph and composed
mode alike, and refuses to build a schema with an undeclared root field.

A field whose permission is a store permission (``kernel.authz.stores``) may also say
where its store is, so a role held at that store suffices:

- ``StoreArg("input.storeId")``: an argument names the store; the guard checks it.
- ``StoreOf("input.orderId", find)``: an argument names resources (one id or a list);
  the guard looks up their stores with ``find`` and checks every one. A resource that
  is not found answers FORBIDDEN to such a caller, exactly as another store's would.
- ``NARROWED``: the resolver itself narrows to ``context.stores(permission)`` (lists,
  filters); the guard only checks that the caller holds the permission somewhere.

Without a declaration, only a tenant-wide grant passes.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.authz.permissions import Requirement

PERMISSION_KEY = "zhongtai.permission"
STORE_KEY = "zhongtai.store"

# (session, tenant, resource ids) -> each found resource's store (None: it has none).
StoreFinder = Callable[
    [AsyncSession, uuid.UUID, Sequence[uuid.UUID]], Awaitable[Mapping[uuid.UUID, uuid.UUID | None]]
]


@dataclass(frozen=True, slots=True)
class StoreArg:
    """The argument at ``path`` (``"storeId"``, ``"input.storeId"``) names the store."""

    path: str


@dataclass(frozen=True, slots=True)
class StoreOf:
    """The argument at ``path`` names resources whose stores ``find`` returns."""

    path: str
    find: StoreFinder


class _Narrowed:
    def __repr__(self) -> str:
        return "NARROWED"


NARROWED: Final = _Narrowed()

StoreBinding = StoreArg | StoreOf | _Narrowed

Resolver = TypeVar("Resolver", bound=Callable[..., Any])


def field_metadata(permission: Requirement, store: StoreBinding | None) -> dict[str, Any]:
    """The declaration the guard reads (``subgraph.guard_root_fields``)."""
    metadata: dict[str, Any] = {PERMISSION_KEY: permission}
    if store is not None:
        metadata[STORE_KEY] = store
    return metadata


def query(
    permission: Requirement, *, store: StoreBinding | None = None, **kwargs: Any
) -> Callable[[Resolver], Resolver]:
    """A root query field that requires ``permission`` (used as a decorator)."""
    decorator: Callable[[Resolver], Resolver] = strawberry.field(
        metadata=field_metadata(permission, store), **kwargs
    )
    return decorator


def mutation(
    permission: Requirement, *, store: StoreBinding | None = None, **kwargs: Any
) -> Callable[[Resolver], Resolver]:
    """A root mutation field that requires ``permission`` (used as a decorator)."""
    decorator: Callable[[Resolver], Resolver] = strawberry.mutation(
        metadata=field_metadata(permission, store), **kwargs
    )
    return decorator
