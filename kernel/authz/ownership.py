"""Ownership rules, declared once and turned into an SQL filter, never a per-row check.

A center declares, e.g. in its ``policy.py``::

    ORDER_OWNERSHIP = Ownership(own=READ_ORDER, any=READ_ANY_ORDER)

and its repository filters with what ``scope`` returns: ``EVERY_ROW`` for holders of
``any`` (staff), the caller's subject for holders of ``own`` only ("a member reads only
their own orders"), and ``ForbiddenError`` for neither. The filter is one equality on
the owner column (``buyer_subject = :subject``), so lists stay indexed and paginated,
and a row the caller does not own is simply absent, like another tenant's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from kernel.authz.permissions import Permission
from kernel.errors import ForbiddenError


class _Caller(Protocol):
    """What ``scope`` needs of a request context."""

    def allows(self, requirement: Permission) -> bool: ...

    def authorize(self, requirement: Permission) -> None: ...

    @property
    def subject(self) -> str: ...


class _EveryRow:
    def __repr__(self) -> str:
        return "EVERY_ROW"


EVERY_ROW: Final = _EveryRow()

Scope = _EveryRow | str


@dataclass(frozen=True, slots=True)
class Ownership:
    """``own`` reaches the caller's own rows; ``any`` reaches every row of the tenant."""

    own: Permission
    any: Permission

    def __post_init__(self) -> None:
        if self.own.object != self.any.object or self.own == self.any:
            raise ValueError("ownership pairs two actions on one object")

    def scope(self, caller: _Caller) -> Scope:
        """``EVERY_ROW``, or the subject whose rows the caller may reach."""
        if caller.allows(self.any):
            return EVERY_ROW
        if caller.allows(self.own):
            return caller.subject
        caller.authorize(self.own)  # records the denial and raises
        raise ForbiddenError(f"not allowed: {self.own}")  # pragma: no cover
