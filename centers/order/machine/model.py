"""The vocabulary of a state machine: states, events, guards, effects, status views.

A machine is plain data. Guards and effects are *names*; the transition engine
(``centers/order/transitions.py``) maps each name to one function, so a new order type
is a new definition that reuses them, never new engine code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Actor(Enum):
    """Who may fire an event."""

    BUYER = "BUYER"  # the customer, on their own order
    STAFF = "STAFF"  # store or back-office staff with ``order.order:manage``
    SYSTEM = "SYSTEM"  # jobs, payment callbacks, plugins (never a GraphQL caller)


@dataclass(frozen=True, slots=True)
class StatusView:
    """How one internal state reads to each audience."""

    buyer: str  # 待付款 TO_PAY, 待发货 TO_SHIP, 待收货 TO_RECEIVE, …
    merchant: str
    erp: str  # 已锁定 LOCKED, 已分仓 ALLOCATED, 已出库 SHIPPED, …


@dataclass(frozen=True, slots=True)
class Transition:
    event: str
    sources: frozenset[str]
    target: str
    by: frozenset[Actor]
    guards: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Machine:
    order_type: str
    description: str
    initial: str
    transitions: tuple[Transition, ...]
    views: dict[str, StatusView]
    # States whose unpaid orders the payment-timeout job cancels (event ``TIMEOUT``).
    _index: dict[tuple[str, str], Transition] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], Transition] = {}
        for transition in self.transitions:
            for source in transition.sources:
                key = (source, transition.event)
                if key in index:
                    raise ValueError(f"{self.order_type}: two transitions for {key}")
                index[key] = transition
        object.__setattr__(self, "_index", index)
        missing = self.states - set(self.views)
        if missing:
            raise ValueError(f"{self.order_type}: no status view for {sorted(missing)}")

    @property
    def states(self) -> frozenset[str]:
        found = {self.initial}
        for transition in self.transitions:
            found |= transition.sources | {transition.target}
        return frozenset(found)

    @property
    def events(self) -> frozenset[str]:
        return frozenset(t.event for t in self.transitions)

    @property
    def final_states(self) -> frozenset[str]:
        return frozenset(s for s in self.states if not self.events_from(s))

    def find(self, state: str, event: str) -> Transition | None:
        return self._index.get((state, event))

    def events_from(self, state: str) -> list[str]:
        return sorted(event for (source, event) in self._index if source == state)

    def events_for(self, state: str, actor: Actor) -> list[str]:
        """The events ``actor`` may fire in ``state``."""
        return [e for e in self.events_from(state) if actor in self._index[(state, e)].by]
