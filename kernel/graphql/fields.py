"""Root fields declare the permission they need; nothing is served without one.

``guard_root_fields`` (see ``subgraph.py``) reads the declaration from the field's
metadata and checks it once per root field per request, in subgraph and composed
mode alike, and refuses to build a schema with an undeclared root field.
"""

from __future__ import annotations

from typing import Any

import strawberry

from kernel.authz.permissions import Requirement

PERMISSION_KEY = "zhongtai.permission"


def query(permission: Requirement, **kwargs: Any) -> Any:
    """A root query field that requires ``permission``."""
    return strawberry.field(metadata={PERMISSION_KEY: permission}, **kwargs)


def mutation(permission: Requirement, **kwargs: Any) -> Any:
    """A root mutation field that requires ``permission``."""
    return strawberry.mutation(metadata={PERMISSION_KEY: permission}, **kwargs)
