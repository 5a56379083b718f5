"""Root fields declare the permission they need; nothing is served without one.

``guard_root_fields`` (see ``subgraph.py``) reads the declaration from the field's
metadata and checks it once per root field per request, in subgraph and composed
mode alike, and refuses to build a schema with an undeclared root field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry

from kernel.authz.permissions import Requirement

PERMISSION_KEY = "zhongtai.permission"

Resolver = TypeVar("Resolver", bound=Callable[..., Any])


def query(permission: Requirement, **kwargs: Any) -> Callable[[Resolver], Resolver]:
    """A root query field that requires ``permission`` (used as a decorator)."""
    decorator: Callable[[Resolver], Resolver] = strawberry.field(
        metadata={PERMISSION_KEY: permission}, **kwargs
    )
    return decorator


def mutation(permission: Requirement, **kwargs: Any) -> Callable[[Resolver], Resolver]:
    """A root mutation field that requires ``permission`` (used as a decorator)."""
    decorator: Callable[[Resolver], Resolver] = strawberry.mutation(
        metadata={PERMISSION_KEY: permission}, **kwargs
    )
    return decorator
